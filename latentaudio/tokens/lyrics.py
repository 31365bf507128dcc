"""Lyrics for the token backend: sections and phonemes, as one track of ids.

Lyrics text may mark sections with ``[intro]``, ``[verse]``, ``[pre-chorus]``, ``[chorus]``,
``[bridge]``, ``[outro]`` (or ``[instrumental]``) lines; every other line is sung text. Words
become IPA phonemes with ``phonemizer`` on espeak-ng (Debian's ``espeak-ng``; English first,
``language="en-us"``; espeak-ng's other languages, e.g. ``es``, ``fr-fr``, ``de``, ``it``, phonemise
too but the shipped models have only heard English). Each IPA character is one id, so the
inventory is small and fixed: a phoneme espeak-ng emits that is not in it becomes ``<unk>``.

Track layout: ``<section:verse> p h o n e m e s <word> ... <line> ... <section:chorus> ...``
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import torch

from latentaudio.errors import LatentAudioError, MissingDependencyError

SECTIONS = ("intro", "verse", "pre-chorus", "chorus", "bridge", "outro", "instrumental")
SPECIALS = ("<pad>", "<unk>", "<word>", "<line>")
# The IPA characters espeak-ng's voices emit for English and the main European languages.
PHONEMES = tuple("aæɐɑɒʌɔəɚɛɜɝeɪiɨʊuoøœyɯᵻ" "bβçdðdʒfgɡɣhjklʎmnɲŋprɾɹʁsʃtθvwxzʒʔ" "ːˑ̃ʲ")
VOCABULARY = (*SPECIALS, *[f"<section:{s}>" for s in SECTIONS], *PHONEMES)
IDS = {symbol: index for index, symbol in enumerate(VOCABULARY)}
PAD, UNKNOWN, WORD, LINE = (IDS[s] for s in SPECIALS)
_MARKER = re.compile(r"^\s*\[\s*([a-z\- ]+?)\s*(\d+)?\s*\]\s*$", re.IGNORECASE)


@dataclass
class Section:
    name: str  # one of SECTIONS
    lines: list[str]


def parse_sections(lyrics: str) -> list[Section]:
    """Lyrics text -> sections in order; text before any marker is a verse."""
    sections: list[Section] = []
    for raw in lyrics.splitlines():
        marker = _MARKER.match(raw)
        if marker:
            name = marker.group(1).strip().lower().replace(" ", "-")
            if name not in SECTIONS:
                raise LatentAudioError(f"unknown section [{marker.group(1)}] in the lyrics: use "
                                       + ", ".join(f"[{s}]" for s in SECTIONS))
            sections.append(Section(name, []))
            continue
        if raw.strip():
            if not sections:
                sections.append(Section("verse", []))
            sections[-1].lines.append(raw.strip())
    return sections


def phonemize_lines(lines: list[str], language: str = "en-us") -> list[str]:
    """IPA per line (words separated by spaces), via phonemizer's espeak backend."""
    if not lines:
        return []
    return [line.strip() for line in _backend(language).phonemize(lines, strip=True)]


@lru_cache(maxsize=8)
def _backend(language: str):
    """One espeak-ng backend per language (starting one takes tens of milliseconds)."""
    try:
        from phonemizer.backend import EspeakBackend
    except ImportError as error:
        raise MissingDependencyError("phonemizer is not installed: pip install phonemizer "
                                     "(./setup.sh does)") from error
    if not EspeakBackend.is_available():
        raise MissingDependencyError("espeak-ng is missing: apt-get install espeak-ng "
                                     "(./setup.sh does)")
    try:
        return EspeakBackend(language, preserve_punctuation=False, with_stress=False)
    except RuntimeError as error:
        raise LatentAudioError(f"espeak-ng cannot phonemise language {language!r}: use one of "
                               "'espeak-ng --voices' (en-us, es, fr-fr, de, ...)") from error


def encode_lyrics(lyrics: str, language: str = "en-us") -> torch.Tensor:
    """Lyrics text -> the id track ``(L,)`` int64."""
    ids: list[int] = []
    for section in parse_sections(lyrics):
        ids.append(IDS[f"<section:{section.name}>"])
        for line in phonemize_lines(section.lines, language):
            for word in line.split():
                ids.extend(IDS.get(symbol, UNKNOWN) for symbol in word)
                ids.append(WORD)
            ids.append(LINE)
    return torch.tensor(ids, dtype=torch.long)


def fixed_length(ids: torch.Tensor, length: int) -> torch.Tensor:
    """Cut or zero-pad (``<pad>``) an id track to ``length``."""
    return torch.nn.functional.pad(ids[:length], (0, max(0, length - len(ids))), value=PAD)


def decode_ids(ids: torch.Tensor) -> str:
    """The id track back to readable text: ``[verse] həloʊ wɜːld / ...``."""
    out = []
    for index in ids.tolist():
        symbol = VOCABULARY[index] if 0 <= index < len(VOCABULARY) else "<unk>"
        if symbol.startswith("<section:"):
            out.append(f"\n[{symbol[9:-1]}] ")
        elif symbol == "<word>":
            out.append(" ")
        elif symbol == "<line>":
            out.append("/ ")
        elif symbol != "<pad>":
            out.append(symbol)
    return "".join(out).strip()
