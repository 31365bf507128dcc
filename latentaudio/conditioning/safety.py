"""Prompt safety: refuse prompts that name living artists.

Imitating a living artist's voice or style is where generated audio gets into legal and ethical
trouble, so prompts naming one are refused with a clear line, before anything is generated. The
names come from a shipped list (``data/living_artists.txt``, a few thousand performers, bands,
producers and composers); ``LATENTAUDIO_ARTISTS`` replaces it with another file and
``LATENTAUDIO_EXTRA_ARTISTS`` (files separated by ``os.pathsep``) adds to it, one name a line.

Matching works on *skeletons* (as Unicode TR39's confusable skeletons): NFKC, diacritics dropped,
Cyrillic and Greek look-alikes and leetspeak (``0 1 3 4 5 7 @ $ !``) mapped to Latin letters,
``l`` folded into ``i``, repeated letters collapsed, punctuation to spaces, ``&``/``+`` to "and".
So "Beyoncé", "beyonce", "B E Y O N C E" and "T a y l 0 r  S w i f t" all match. Spaced-out letters
are joined into one word; a long name also matches across split words ("tay lor swift") as long as
the match starts and ends on word boundaries.

Names made only of everyday words ("Seal", "Heart", "Green Day", "Imagine Dragons", marked with a
leading ``~`` in the list) are refused only where the prompt uses them as an artist: after "in the
style of", "inspired by", "featuring" and the like, before "style", "type beat", "vocals", "cover",
or after "like"/"by" at the end of a clause. "a seal barking", "a cartoon game sound" and
"sounds like heart monitor beeps" pass.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from latentaudio.errors import LatentAudioError

NAMES_FILE = Path(__file__).resolve().parent / "data" / "living_artists.txt"
MIN_SPLIT_MATCH = 6  # skeleton letters before a name may match across split words

# Cyrillic and Greek letters that look like Latin ones (a subset of TR39's confusables).
_HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ɡ": "g", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ß": "ss", "æ": "ae", "ø": "o", "đ": "d",
    "ł": "l", "þ": "th", "œ": "oe",
})
# Leetspeak inside a word ("P!nk", "A$AP", "Taylor Sw1ft"); the same symbols elsewhere are
# punctuation.
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "i", "l": "i"})
_IN_WORD_SYMBOL = re.compile(r"(?<=[a-z0-9])[@$!|]+(?=[a-z0-9])")
_REPEATS = re.compile(r"(.)\1+")

STRONG_BEFORE = [
    "in the style of", "style of", "in the vein of", "in the manner of", "inspired by",
    "influenced by", "similar to", "a la", "cover of", "covering", "imitating", "imitate",
    "impersonating", "featuring", "feat", "ft", "sung by", "performed by", "produced by",
    "voice of", "songs by", "song by", "music by", "track by",
]
WEAK_BEFORE = ["like", "by"]
# Only words that make a name an artist; "song", "track" or "sound" would also follow
# "birthday party" or "game".
AFTER = ["style", "styled", "type beat", "esque", "inspired", "vibes", "cover", "remix",
         "vocals"]
CLAUSE_END = {"and", "or", "with", "but", "over", "on", "in", "at"}


def skeleton_words(text: str) -> list[str]:
    """``text`` -> its words, each reduced to its skeleton (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_HOMOGLYPHS)
    text = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
    text = text.replace("&", " and ").replace("+", " and ").replace("'", "").replace("’", "")
    text = _IN_WORD_SYMBOL.sub(lambda m: m.group(0).translate(_LEET), text)
    words = [_REPEATS.sub(r"\1", w.translate(_LEET)) for w in re.split(r"[^a-z0-9]+", text) if w]
    return _join_spelled_out(words)


def _join_spelled_out(words: list[str]) -> list[str]:
    """Runs of two or more one-letter words are one spelled-out word ("a d e l e")."""
    out, run = [], []
    for word in [*words, ""]:
        if len(word) == 1:
            run.append(word)
            continue
        if len(run) >= 2:
            out.append(_REPEATS.sub(r"\1", "".join(run)))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


@dataclass(frozen=True)
class Name:
    text: str  # as listed
    words: tuple[str, ...]  # skeleton words, a leading "the" dropped
    everyday: bool  # made of everyday words: refused only in an artist context


@dataclass(frozen=True)
class Refusal:
    name: str
    reason: str


def parse_names(lines) -> list[Name]:
    names = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        everyday = line.startswith("~")
        text = line.lstrip("~").strip()
        words = skeleton_words(text)
        if words and words[0] == "the" and len(words) > 1:
            words = words[1:]
        if words:
            names.append(Name(text, tuple(words), everyday))
    return names


class SafetyFilter:
    """Checks prompts against a list of names; :meth:`check` raises, :meth:`find` tells."""

    def __init__(self, names: list[Name]) -> None:
        self.names = names
        self._by_first: dict[str, list[Name]] = {}
        for name in names:
            self._by_first.setdefault(name.words[0], []).append(name)
        self._squashed = [(name, "".join(name.words)) for name in names
                          if not name.everyday and len("".join(name.words)) >= MIN_SPLIT_MATCH]

    @classmethod
    def default(cls) -> SafetyFilter:
        return _default_filter(os.environ.get("LATENTAUDIO_ARTISTS", ""),
                               os.environ.get("LATENTAUDIO_EXTRA_ARTISTS", ""))

    @classmethod
    def from_files(cls, *paths: str | os.PathLike) -> SafetyFilter:
        names = []
        for path in paths:
            try:
                names += parse_names(Path(path).read_text(encoding="utf-8").splitlines())
            except OSError as error:
                raise LatentAudioError(f"cannot read the artist list {path}: {error}") from None
        return cls(names)

    def find(self, prompt: str) -> Refusal | None:
        """The first listed name the prompt uses, or None."""
        words = skeleton_words(prompt)
        for start, word in enumerate(words):
            for name in self._by_first.get(word, ()):
                end = start + len(name.words)
                if tuple(words[start:end]) != name.words:
                    continue
                if not name.everyday:
                    return Refusal(name.text, "names")
                if _artist_context(words, start, end):
                    return Refusal(name.text, "uses as an artist")
        return self._split_match(words)

    def _split_match(self, words: list[str]) -> Refusal | None:
        """Long names written across split words ("tay lor swift"), on word boundaries."""
        squashed = "".join(words)
        starts, position = set(), 0
        ends = set()
        for word in words:
            starts.add(position)
            position += len(word)
            ends.add(position)
        for name, letters in self._squashed:
            index = squashed.find(letters)
            while index >= 0:
                if index in starts and index + len(letters) in ends:
                    return Refusal(name.text, "names")
                index = squashed.find(letters, index + 1)
        return None

    def check(self, prompt: str) -> None:
        """Raise a one-line :class:`LatentAudioError` if the prompt names a listed artist."""
        refusal = self.find(prompt)
        if refusal is not None:
            raise LatentAudioError(
                f"the prompt {refusal.reason} a living artist ({refusal.name}): describe the "
                "sound instead (genre, instruments, mood, tempo); for research, "
                "--no-safety-filter turns this check off")


def _phrase_before(words: list[str], start: int, phrases: list[str]) -> bool:
    for phrase in phrases:
        parts = phrase.split()
        for gap in (0, 1):  # an optional "the" between the phrase and the name
            stop = start - gap
            if gap and (stop < 0 or words[stop] != "the"):
                continue
            if tuple(words[max(0, stop - len(parts)): stop]) == tuple(parts):
                return True
    return False


@lru_cache(maxsize=1)
def _contexts() -> tuple[list[str], list[str], list[tuple[str, ...]], set[str]]:
    """The context phrases in skeleton form, like the prompt they are compared with."""
    def skeleton(phrases):
        return [" ".join(skeleton_words(p)) for p in phrases]

    return (skeleton(STRONG_BEFORE), skeleton(WEAK_BEFORE),
            [tuple(skeleton_words(p)) for p in AFTER], set(skeleton(sorted(CLAUSE_END))))


def _artist_context(words: list[str], start: int, end: int) -> bool:
    strong, weak, after, clause_end = _contexts()
    if _phrase_before(words, start, strong):
        return True
    following = tuple(words[end:end + 2])
    if any(following[: len(p)] == p for p in after):
        return True
    clause_ends = end == len(words) or words[end] in clause_end
    return clause_ends and _phrase_before(words, start, weak)


@lru_cache(maxsize=4)
def _default_filter(replacement: str, extra: str) -> SafetyFilter:
    paths = [replacement or NAMES_FILE] + [p for p in extra.split(os.pathsep) if p]
    return SafetyFilter.from_files(*paths)
