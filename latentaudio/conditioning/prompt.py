"""Prompt preprocessing: pull duration, tempo and key out of free text into fields.

``"upbeat rock groove with distorted guitar, 128 bpm, E minor, 10 seconds"`` becomes the caption
``"upbeat rock groove with distorted guitar"`` with ``bpm=128``, ``key="E minor"``,
``seconds=10``, ``genre="rock"`` and ``moods=["upbeat"]``. Duration, tempo and key phrases leave
the caption (they condition the model as numbers); genre and mood words stay in it (they are
natural language the text encoder reads) and are also reported as fields. Corpus captions go
through the same function at training time, so both sides see the same kind of text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from latentaudio.theory import GENRE_MOODS, Key

_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION = re.compile(
    rf"\b(?:(?:for|lasting|of|about)\s+)?{_NUMBER}[\s-]*"
    r"(?P<unit>s|secs?|seconds?|mins?|minutes?)\b(?:\s+long)?", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2}):([0-5]\d)\b(?:\s*(?:long|min))?")
_TEMPO = re.compile(rf"\b(?:at\s+)?(?:a\s+tempo\s+of\s+)?{_NUMBER}\s*(?:bpm|beats per minute)\b",
                    re.IGNORECASE)
_KEY = re.compile(r"\b(?:in\s+(?:the\s+key\s+of\s+)?)?([A-Ga-g])\s*([#♯b♭]?)\s*"
                  r"(major|minor|maj|min)\b")
# Words people use for genres, mapped to our genre names.
GENRE_WORDS = {name: name for name in GENRE_MOODS} | {
    "lofi": "lo-fi hip hop", "lo-fi": "lo-fi hip hop", "chillhop": "lo-fi hip hop",
    "hip hop": "lo-fi hip hop", "house": "electronic", "edm": "electronic", "techno": "electronic",
    "synthwave": "electronic", "trailer": "cinematic", "epic": "cinematic", "symphonic":
    "orchestral", "classical": "orchestral", "8-bit": "chiptune", "video game": "chiptune",
    "acoustic": "folk", "swing": "jazz", "ballad": "piano ballad", "drone": "ambient",
}
MOOD_WORDS = sorted({mood for moods in GENRE_MOODS.values() for mood in moods}
                    | {"happy", "sad", "dark", "uplifting", "peaceful", "aggressive", "eerie",
                       "mysterious", "romantic", "intense", "soft", "loud", "upbeat"})


@dataclass
class PromptSpec:
    text: str  # the prompt as given
    caption: str  # what the text encoder reads
    seconds: float | None = None
    bpm: float | None = None
    key: str | None = None  # canonical, e.g. "F# minor"
    genre: str | None = None
    moods: list[str] = field(default_factory=list)


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # separators left doubled
    text = re.sub(r"\b(?:at|in|for|with)\s*([,.;:]|$)", r"\1", text)  # dangling prepositions
    return text.strip(" ,;:-")


def parse_prompt(text: str) -> PromptSpec:
    """Split a prompt into caption and fields; see the module docstring."""
    spec = PromptSpec(text=text, caption=text)
    rest = text

    match = _CLOCK.search(rest)
    if match:
        spec.seconds = 60 * int(match.group(1)) + int(match.group(2))
        rest = rest[: match.start()] + rest[match.end():]
    match = _DURATION.search(rest)
    if match:
        value = float(match.group(1))
        spec.seconds = value * (60 if match.group("unit").lower().startswith("m") else 1)
        rest = rest[: match.start()] + rest[match.end():]
    match = _TEMPO.search(rest)
    if match:
        spec.bpm = float(match.group(1))
        rest = rest[: match.start()] + rest[match.end():]
    match = _KEY.search(rest)
    if match:
        try:
            spec.key = Key.parse(f"{match.group(1)}{match.group(2)} {match.group(3)}").name
            rest = rest[: match.start()] + rest[match.end():]
        except ValueError:
            pass
    spec.caption = _tidy(rest)

    lowered = f" {spec.caption.lower()} "
    for word in sorted(GENRE_WORDS, key=len, reverse=True):  # longest first: "lo-fi hip hop"
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered):
            spec.genre = GENRE_WORDS[word]
            break
    spec.moods = [m for m in MOOD_WORDS if re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])",
                                                      lowered)]
    return spec


def resolve_prompt(text: str, *, seconds: float | None, default_seconds: float | None,
                   bpm: float | None = None, key: str | None = None,
                   limits: tuple[float, float] | None = None) -> PromptSpec:
    """Parse ``text`` and let explicit arguments override what it says: ``seconds``, else the
    prompt's own duration, else ``default_seconds``; then check the duration against
    ``limits`` (seconds) with a one-line error."""
    from latentaudio.limits import check_seconds

    spec = parse_prompt(text)
    spec.seconds = seconds if seconds is not None else (spec.seconds or default_seconds)
    spec.bpm = bpm if bpm is not None else spec.bpm
    spec.key = key if key is not None else spec.key
    if limits is not None:
        check_seconds(spec.seconds, limits)
    return spec


def canonical_key(text: str | None) -> str | None:
    """``"f#m"`` -> ``"F# minor"``; None stays None; anything else is a one-line error."""
    if text is None:
        return None
    from latentaudio.errors import LatentAudioError
    from latentaudio.theory import Key

    try:
        return Key.parse(text).name
    except ValueError as error:
        raise LatentAudioError(str(error)) from None
