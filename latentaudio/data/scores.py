"""Real scores from music21's shipped corpus (Bach chorales, Palestrina, Monteverdi, folk tunes),
transposed to a chosen key, played at a chosen tempo by a chosen ensemble through FluidSynth.

The key label comes from music21's Krumhansl-Schmuckler analysis of the score, moved by the
transposition we apply, so it is as exact as that analysis; the tempo label is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentaudio.data.fluidsynth import NoteEvent
from latentaudio.errors import MissingDependencyError
from latentaudio.theory import INSTRUMENTS, Key, tempo_word

# Which corpus folders to use, how to describe them, and their tempo range in quarter notes/min.
COLLECTIONS = {
    "bach": ("Bach chorale", "baroque chorale", (60, 96)),
    "palestrina": ("Palestrina mass movement", "renaissance polyphony", (60, 100)),
    "monteverdi": ("Monteverdi madrigal", "renaissance madrigal", (66, 110)),
    "ryansMammoth": ("traditional fiddle tune", "celtic folk tune", (90, 150)),
}
SUFFIXES = (".mxl", ".krn", ".abc", ".xml", ".musicxml")

# Ensembles: name, GM program per part (top voice first; repeated for more parts).
ENSEMBLES = (
    ("string quartet", (40, 40, 41, 42)),
    ("brass choir", (56, 60, 57, 57)),
    ("woodwind quartet", (73, 68, 71, 70)),
    ("church organ", (19,)),
    ("choir", (52,)),
    ("piano", (0,)),
    ("harpsichord", (6,)),
    ("saxophone quartet", (65, 65, 66, 66)),
    ("string orchestra", (48, 48, 48, 48)),
)
SOLO_INSTRUMENTS = (110, 73, 40, 22, 75, 21, 24, 0)  # for single-line folk tunes


def _corpus():
    try:
        from music21 import corpus
    except ImportError as error:
        raise MissingDependencyError(
            "music21 is not installed: pip install music21 (or run ./setup.sh)") from error
    return corpus


def list_scores() -> list[tuple[str, Path]]:
    """``(collection, path)`` of every usable score in music21's corpus, in a stable order."""
    found = []
    for path in _corpus().getPaths():
        path = Path(path)
        parts = path.parts
        if "corpus" not in parts:
            continue
        collection = parts[parts.index("corpus") + 1]
        if collection in COLLECTIONS and path.suffix in SUFFIXES:
            found.append((collection, path))
    return sorted(found, key=lambda item: str(item[1]))


@dataclass(frozen=True)
class Arrangement:
    notes: list[NoteEvent]
    programs: dict[int, int]
    key: Key
    bpm: int
    ensemble: str
    collection: str
    title: str

    @property
    def instruments(self) -> list[str]:
        return sorted({INSTRUMENTS[p][0] for p in self.programs.values()})


def arrange(path: Path, collection: str, rng: np.random.Generator, seconds: float
            ) -> Arrangement:
    """Parse a score and arrange ``seconds`` of it from a random bar, in a random key and tempo."""
    score = _corpus().parse(str(path))
    analysed = score.analyze("key")
    source_key = Key(analysed.tonic.pitchClass, analysed.mode if analysed.mode in (
        "major", "minor") else "major")
    target = Key(int(rng.integers(12)), source_key.mode)
    shift = (target.tonic - source_key.tonic) % 12
    shift = shift - 12 if shift > 6 else shift
    bpm = int(rng.integers(*COLLECTIONS[collection][2]))
    beat = 60.0 / bpm

    parts = [part.stripTies().flatten() for part in score.parts] or [score.stripTies().flatten()]
    parts = [part for part in parts if len(part.notes)]
    if len(parts) == 1:
        ensemble, programs = "solo", (int(rng.choice(SOLO_INSTRUMENTS)),)
    else:
        ensemble, programs = ENSEMBLES[int(rng.integers(len(ENSEMBLES)))]
    length = max(float(part.highestTime) for part in parts)
    start = float(rng.uniform(0, max(0.0, length - seconds / beat))) if length else 0.0
    start = float(np.floor(start))  # on a beat

    notes, channel_programs = [], {}
    for index, part in enumerate(parts[:8]):
        channel = index if index < 9 else index + 1  # skip the drum channel
        channel_programs[channel] = programs[min(index, len(programs) - 1)]
        for element in part.notes:
            onset = (float(element.offset) - start) * beat
            if onset < 0 or onset >= seconds:
                continue
            duration = max(0.05, float(element.quarterLength) * beat)
            for pitch in element.pitches:
                midi = int(pitch.midi) + shift
                if 21 <= midi <= 108:
                    notes.append(NoteEvent(onset, duration, midi, int(rng.integers(70, 95)),
                                           channel))
    if ensemble == "solo":
        ensemble = INSTRUMENTS[programs[0]][0]
    title = str(score.metadata.title) if score.metadata and score.metadata.title else path.stem
    return Arrangement(notes, channel_programs, target, bpm, ensemble, collection, title)


CAPTION_TEMPLATES = (
    "a {what} played by {ensemble}, {bpm} bpm, {key}",
    "{ensemble} performing a {style} in {key} at {bpm} BPM",
    "{style} arranged for {ensemble}, {key}, {bpm} bpm",
    "classical recording of a {what} by {ensemble}, {tempo}, {key}, {bpm} bpm",
)


def describe(arrangement: Arrangement, rng: np.random.Generator) -> tuple[str, list[str]]:
    what, style, _ = COLLECTIONS[arrangement.collection]
    ensemble = arrangement.ensemble
    if ensemble in ("piano", "harpsichord", "church organ", "choir") or ensemble in (
            INSTRUMENTS[p][0] for p in SOLO_INSTRUMENTS):
        ensemble = f"a solo {ensemble}" if ensemble != "choir" else "a choir"
    else:
        ensemble = f"a {ensemble}"
    caption = str(rng.choice(CAPTION_TEMPLATES)).format(
        what=what, style=style, ensemble=ensemble, bpm=arrangement.bpm,
        key=arrangement.key.name, tempo=tempo_word(arrangement.bpm))
    tags = [style, arrangement.ensemble, tempo_word(arrangement.bpm), arrangement.key.name,
            f"{arrangement.bpm} bpm", *arrangement.instruments]
    return caption, tags
