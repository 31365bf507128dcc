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

import math
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


# ---------------------------------------------------------------- the words' times
def words_between(words: list, start: float, end: float) -> str:
    """The lyrics sung in ``[start, end)`` seconds, with [section] markers: what a crop of the
    song is conditioned on. ``words`` as in the manifest (dicts) or
    :class:`~latentaudio.data.songs.SungWord`."""
    lines, section = [], None
    for word in words:
        item = word if isinstance(word, dict) else word.__dict__
        if not start <= item["start"] < end:
            continue
        if item["section"] != section:
            section = item["section"]
            lines.append(f"[{section}]")
            lines.append("")
        lines[-1] = (lines[-1] + " " + item["word"]).strip()
    return "\n".join(lines)


LINE_FILL = 0.85  # a line is sung over this share of its bar, as the corpus's songs are


def word_ids(words: list[str], language: str = "en-us") -> list[list[int]]:
    """Each word's phoneme ids (one espeak-ng call for the words not seen before)."""
    new = sorted({(word, language) for word in words} - _WORD_IDS.keys())
    if new:
        for (word, _), ipa in zip(new, phonemize_lines([w for w, _ in new], language),
                                  strict=True):
            _WORD_IDS[word, language] = [IDS.get(symbol, UNKNOWN)
                                         for symbol in ipa.replace(" ", "")] or [UNKNOWN]
    return [_WORD_IDS[word, language] for word in words]


_WORD_IDS: dict[tuple[str, str], list[int]] = {}


def sung_frames(words: list[dict], start: float, frames: int, rate: float,
                language: str = "en-us") -> torch.Tensor:
    """The phoneme sung at each of ``frames`` frames from ``start`` seconds ``(frames,)``
    int64 (``<pad>`` where nothing is): each word's phonemes share its span equally. ``words``
    as the manifest times them (dicts with start, end, word)."""
    out = torch.zeros(frames, dtype=torch.long)
    end = start + frames / rate
    inside = [w for w in words if w["end"] > start and w["start"] < end]
    for word, ids in zip(inside, word_ids([w["word"].lower() for w in inside], language),
                         strict=True):
        first = max(0, math.ceil((word["start"] - start) * rate - 0.5))
        last = min(frames, math.ceil((word["end"] - start) * rate - 0.5))
        for frame in range(first, last):  # frame centres inside the word
            share = ((start + (frame + 0.5) / rate) - word["start"]) / (word["end"] - word["start"])
            out[frame] = ids[min(len(ids) - 1, int(share * len(ids)))]
    return out


def plan_words(lyrics: str, seconds: float, bpm: float | None) -> list[dict]:
    """When each word of ``lyrics`` is sung in a song of ``seconds``, as the corpus's songs
    sing: the sections share the song equally (after an instrumental intro and before an
    outro of two bars each, in songs of 30 s and more, unless the lyrics place their own), each
    starting on a bar; a line per bar (faster when a section has more lines than bars), sung
    over 85% of it, its words timed by their length. Entries as the manifest's: start, end,
    word, section, line."""
    sections = parse_sections(lyrics)
    if not sections:
        return []
    bar = 240.0 / (bpm or 120.0)
    if seconds >= 30.0:
        if sections[0].name != "intro":
            sections.insert(0, Section("intro", []))
        if sections[-1].name != "outro":
            sections.append(Section("outro", []))
    bars = max(1, int(seconds / bar))
    edges = [round(i * bars / len(sections)) * bar for i in range(len(sections) + 1)]
    edges[-1] = seconds
    words, line_index = [], 0
    for section, begin, finish in zip(sections, edges, edges[1:], strict=False):
        if not section.lines or finish <= begin:
            continue
        length = min(bar, (finish - begin) / len(section.lines))
        for number, line in enumerate(section.lines):
            tokens = line.split()
            at = begin + number * length
            weights = [len(token) + 1.0 for token in tokens]
            total, done = sum(weights), 0.0
            for token, weight in zip(tokens, weights, strict=True):
                words.append({"start": round(at + LINE_FILL * length * done / total, 4),
                              "end": round(at + LINE_FILL * length * (done + weight) / total, 4),
                              "word": token, "section": section.name, "line": line_index})
                done += weight
            line_index += 1
    return words
