"""Procedurally composed instrumental beds with exact tempo, key, genre and instrument labels.

Each bed is a chord progression voiced for the genre, a bass line, an optional lead motif and a
drum pattern, rendered through FluidSynth. Because the labels drive the composition, they are
exact: a bed captioned "128 bpm, E minor" is at 128 bpm in E minor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentaudio.data.fluidsynth import (
    DRUM_CHANNEL,
    PAN,
    REVERB_SEND,
    NoteEvent,
    render_notes,
)
from latentaudio.theory import GENRE_MOODS, INSTRUMENTS, Key, tempo_word

CHORDS, BASS, LEAD, EXTRA = 0, 1, 2, 3  # MIDI channels by role

# Progressions as 0-based scale degrees, one chord per bar.
MAJOR_PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 3), (5, 3, 0, 4), (1, 4, 0, 0), (0, 5, 3, 4),
                      (0, 3, 0, 4))
MINOR_PROGRESSIONS = ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4))

# 16-step (sixteenth-note) drum patterns: GM drum key -> velocity per step (0 = rest).
KICK, RIM, SNARE, CLAP, HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE, TAMBOURINE, SHAKER = (
    36, 37, 38, 39, 42, 44, 46, 49, 51, 54, 70)


def _steps(hits: dict[int, int]) -> tuple[int, ...]:
    return tuple(hits.get(step, 0) for step in range(16))


DRUM_PATTERNS: dict[str, dict[int, tuple[int, ...]]] = {
    "rock": {KICK: _steps({0: 110, 8: 105, 10: 90}), SNARE: _steps({4: 110, 12: 110}),
             HAT: _steps({s: 80 for s in range(0, 16, 2)})},
    "lofi": {KICK: _steps({0: 95, 7: 70, 10: 85}), SNARE: _steps({4: 80, 12: 85}),
             HAT: _steps({s: 50 + 10 * (s % 4 == 0) for s in range(0, 16, 2)})},
    "electronic": {KICK: _steps({0: 120, 4: 120, 8: 120, 12: 120}),
                   CLAP: _steps({4: 100, 12: 100}),
                   OPEN_HAT: _steps({2: 80, 6: 80, 10: 80, 14: 80}),
                   HAT: _steps({s: 55 for s in range(1, 16, 2)})},
    "jazz": {RIDE: _steps({0: 80, 4: 85, 6: 60, 8: 80, 12: 85, 14: 60}),
             PEDAL_HAT: _steps({4: 60, 12: 60}), KICK: _steps({0: 50})},
    "funk": {KICK: _steps({0: 110, 3: 80, 10: 100}), SNARE: _steps({4: 110, 12: 110, 7: 35,
                                                                    9: 35, 15: 40}),
             HAT: _steps({s: 70 + 15 * (s % 2 == 0) for s in range(16)})},
    "folk": {KICK: _steps({0: 80, 8: 75}), TAMBOURINE: _steps({4: 75, 12: 75}),
             SHAKER: _steps({s: 45 for s in range(0, 16, 2)})},
    "reggae": {KICK: _steps({8: 110}), RIM: _steps({8: 100}),
               HAT: _steps({s: 65 for s in range(0, 16, 2)})},
    "chiptune": {KICK: _steps({0: 110, 8: 110}), SNARE: _steps({4: 100, 12: 100}),
                 HAT: _steps({s: 60 for s in range(16)})},
}


@dataclass(frozen=True)
class Genre:
    """How one genre/mood is composed and described."""

    name: str  # label, e.g. "lo-fi hip hop"
    bpm: tuple[int, int]  # tempo range, inclusive
    chords: tuple[int, ...]  # GM programs for the harmony
    bass: tuple[int, ...]  # GM programs for the bass (empty: no bass)
    lead: tuple[int, ...]  # GM programs for the melody (empty: no lead)
    drums: str  # key of DRUM_PATTERNS, or "" for none
    chord_style: str  # "block", "arpeggio", "pad", "strum", "stabs", "offbeat"
    bass_style: str  # "roots", "walking", "octaves", "pedal"
    minor_share: float  # probability of a minor key
    moods: tuple[str, ...]  # adjectives for captions
    nouns: tuple[str, ...]  # what people call a piece of it: "rock groove", "lo-fi beat"
    sevenths: bool = False  # four-note chords
    swing: float = 0.0  # delay of off-beat eighths, as a fraction of a sixteenth
    reverb: int = 40  # reverb send, 0-127


GENRES: tuple[Genre, ...] = (
    Genre("ambient", (60, 90), (88, 89, 94, 95, 49), (), (11, 10, 8, 75), "", "pad", "pedal",
          0.4, GENRE_MOODS["ambient"],
          ("ambient soundscape", "ambient piece", "atmospheric drone"), reverb=110),
    Genre("lo-fi hip hop", (70, 95), (4, 5, 0), (33, 32, 35), (11, 26, 73), "lofi", "block",
          "roots", 0.5, GENRE_MOODS["lo-fi hip hop"],
          ("lo-fi hip hop beat", "lo-fi groove", "chillhop beat"), sevenths=True, swing=0.5,
          reverb=60),
    Genre("rock", (100, 160), (29, 30, 27), (33, 34), (29, 30), "rock", "stabs", "octaves",
          0.5, GENRE_MOODS["rock"],
          ("rock groove", "rock track", "guitar-driven rock song")),
    Genre("orchestral", (66, 120), (48, 49, 61), (43, 42), (40, 73, 68, 60, 71), "",
          "block", "roots", 0.5, GENRE_MOODS["orchestral"],
          ("orchestral piece", "orchestral passage", "symphonic cue"), reverb=90),
    Genre("jazz", (90, 160), (0, 26, 4, 11), (32,), (65, 66, 56, 57), "jazz", "block",
          "walking", 0.3, GENRE_MOODS["jazz"],
          ("jazz combo tune", "swing jazz piece", "jazz trio groove"), sevenths=True,
          swing=0.66),
    Genre("electronic", (118, 140), (90, 81, 62, 100), (38, 39, 87), (80, 81), "electronic",
          "offbeat", "octaves", 0.6, GENRE_MOODS["electronic"],
          ("electronic dance track", "house groove", "synth-driven club track")),
    Genre("folk", (80, 130), (25, 24, 105), (32,), (73, 110, 22, 21), "folk", "strum",
          "roots", 0.35, GENRE_MOODS["folk"],
          ("acoustic folk tune", "folk song", "campfire folk strum")),
    Genre("cinematic", (60, 100), (48, 49, 52, 89), (43, 42), (60, 61, 40), "", "pad",
          "pedal", 0.7, GENRE_MOODS["cinematic"],
          ("cinematic score", "film trailer cue", "epic soundtrack cue"), reverb=100),
    Genre("funk", (95, 120), (27, 28, 4, 16), (36, 33), (61, 56, 65), "funk", "stabs",
          "octaves", 0.5, GENRE_MOODS["funk"],
          ("funk groove", "funk jam", "slap-bass funk track")),
    Genre("reggae", (70, 95), (16, 27, 0), (33,), (22, 56, 79), "reggae", "offbeat", "roots",
          0.4, GENRE_MOODS["reggae"],
          ("reggae groove", "one-drop reggae riddim", "roots reggae tune")),
    Genre("chiptune", (120, 180), (80, 81), (38, 80), (80, 82), "chiptune", "arpeggio",
          "octaves", 0.4, GENRE_MOODS["chiptune"],
          ("8-bit chiptune", "retro video game tune", "chiptune loop")),
    Genre("piano ballad", (60, 84), (0, 2), (), (0,), "", "arpeggio", "pedal", 0.5,
          GENRE_MOODS["piano ballad"],
          ("solo piano ballad", "piano piece", "gentle piano improvisation"), reverb=70),
)
GENRES_BY_NAME = {genre.name: genre for genre in GENRES}


@dataclass(frozen=True)
class Bed:
    """A composed bed: its notes and the labels it was composed from."""

    notes: list[NoteEvent]
    programs: dict[int, int]  # channel -> GM program
    genre: Genre
    key: Key
    bpm: int
    mood: str
    noun: str

    @property
    def instruments(self) -> list[str]:
        names = [INSTRUMENTS[self.programs[ch]][0] for ch in sorted(self.programs)]
        return names + (["drums"] if self.genre.drums else [])


def compose_bed(rng: np.random.Generator, seconds: float, genre: Genre | None = None,
                key: Key | None = None, bpm: int | None = None) -> Bed:
    """Compose ``seconds`` of a bed; unspecified labels are drawn from ``rng``."""
    genre = genre or GENRES[rng.integers(len(GENRES))]
    if key is None:
        mode = "minor" if rng.random() < genre.minor_share else "major"
        key = Key(int(rng.integers(12)), mode)
    bpm = bpm or int(rng.integers(genre.bpm[0], genre.bpm[1] + 1))
    sixteenth = 60.0 / bpm / 4
    bars = int(np.ceil(seconds / (16 * sixteenth))) + 1
    progressions = MAJOR_PROGRESSIONS if key.mode == "major" else MINOR_PROGRESSIONS
    progression = progressions[rng.integers(len(progressions))]
    degrees = [progression[bar % len(progression)] for bar in range(bars)]

    def at(bar: int, step: float) -> float:
        """Onset time of a sixteenth step in a bar, with swing on off-beat eighths."""
        swung = step + (genre.swing if int(step) % 4 == 2 else 0.0)
        return (bar * 16 + swung) * sixteenth

    programs = {CHORDS: int(rng.choice(genre.chords))}
    notes = _harmony(rng, genre, key, degrees, at, sixteenth)
    if genre.bass:
        programs[BASS] = int(rng.choice(genre.bass))
        notes += _bass(rng, genre, key, degrees, at, sixteenth)
    if genre.lead and rng.random() < 0.8:
        programs[LEAD] = int(rng.choice(genre.lead))
        notes += _lead(rng, key, degrees, at, sixteenth)
    if genre.drums:
        notes += _drums(rng, genre, bars, at)
    return Bed(notes, programs, genre, key, bpm, str(rng.choice(genre.moods)),
               str(rng.choice(genre.nouns)))


def _harmony(rng, genre, key, degrees, at, sixteenth) -> list[NoteEvent]:
    notes = []
    size = 4 if genre.sevenths else 3
    octave = 4 if genre.chord_style in ("arpeggio", "offbeat") else 3
    for bar, degree in enumerate(degrees):
        chord = key.chord(degree, octave, size)
        style = genre.chord_style
        if style in ("pad", "block") and (style == "pad" or rng.random() < 0.5):
            length = 16 if style == "pad" else 8
            for start in range(0, 16, length):
                notes += [NoteEvent(at(bar, start), 0.95 * length * sixteenth, p, 70)
                          for p in chord]
        elif style == "block":
            for start in (0, 6, 10):
                notes += [NoteEvent(at(bar, start), 3.5 * sixteenth, p, 72) for p in chord]
        elif style == "arpeggio":
            pattern = [*chord, chord[0] + 12, *chord[1:][::-1]]
            for step in range(0, 16, 2):
                notes.append(NoteEvent(at(bar, step), 2.5 * sixteenth,
                                       pattern[(step // 2) % len(pattern)], 68))
        elif style == "strum":
            for step in (0, 4, 6, 8, 12, 14):
                for i, p in enumerate(chord):  # a 12 ms strum across the strings
                    notes.append(NoteEvent(at(bar, step) + 0.012 * i, 1.8 * sixteenth, p,
                                           80 if step % 8 == 0 else 62))
        elif style == "stabs":
            for step in (0, 3, 6, 8, 11, 14):
                notes += [NoteEvent(at(bar, step), 1.4 * sixteenth, p, 85) for p in chord]
        elif style == "offbeat":
            for step in (2, 6, 10, 14):
                notes += [NoteEvent(at(bar, step), 1.6 * sixteenth, p, 80) for p in chord]
    return notes


def _bass(rng, genre, key, degrees, at, sixteenth) -> list[NoteEvent]:
    notes = []
    for bar, degree in enumerate(degrees):
        root = key.pitch(degree, octave=2)
        if genre.bass_style == "pedal":
            notes.append(NoteEvent(at(bar, 0), 15 * sixteenth, root, 85, BASS))
        elif genre.bass_style == "walking":
            target = key.pitch(degrees[(bar + 1) % len(degrees)], octave=2)
            line = [root, key.pitch(degree + 2, 2), key.pitch(degree + 4, 2), target - 1]
            notes += [NoteEvent(at(bar, 4 * beat), 3.6 * sixteenth, pitch, 90, BASS)
                      for beat, pitch in enumerate(line)]
        elif genre.bass_style == "octaves":
            notes += [NoteEvent(at(bar, step), 1.7 * sixteenth,
                                root + (12 if step % 4 == 2 else 0), 95, BASS)
                      for step in range(0, 16, 2)]
        else:  # roots: the root on the beat with a fifth before the bar line
            notes += [NoteEvent(at(bar, 0), 5.5 * sixteenth, root, 95, BASS),
                      NoteEvent(at(bar, 6), 1.8 * sixteenth, root, 80, BASS),
                      NoteEvent(at(bar, 8), 5.5 * sixteenth, root, 92, BASS),
                      NoteEvent(at(bar, 14), 1.8 * sixteenth, key.pitch(degree + 4, 2), 80, BASS)]
    return notes


def _lead(rng, key, degrees, at, sixteenth) -> list[NoteEvent]:
    """A two-bar motif on chord tones and passing notes, repeated with a varied ending."""
    rhythm = sorted(rng.choice(16, size=int(rng.integers(3, 7)), replace=False))
    motif = []
    position = int(rng.integers(0, 5))
    for _ in rhythm:
        position += int(rng.choice([-2, -1, 1, 1, 2, 0]))
        motif.append(int(np.clip(position, -2, 9)))
    notes = []
    for bar, degree in enumerate(degrees):
        if bar % 4 == 3 and rng.random() < 0.5:
            continue  # breathe
        for i, (step, offset) in enumerate(zip(rhythm, motif, strict=True)):
            next_step = rhythm[i + 1] if i + 1 < len(rhythm) else 16
            pitch = key.pitch(degree + offset, octave=5)
            notes.append(NoteEvent(at(bar, step), 0.9 * (next_step - step) * sixteenth, pitch,
                                   int(rng.integers(70, 100)), channel=LEAD))
    return notes


def _drums(rng, genre, bars, at) -> list[NoteEvent]:
    pattern = DRUM_PATTERNS[genre.drums]
    notes = []
    for bar in range(bars):
        if bar == 0 and genre.drums in ("rock", "funk", "electronic"):
            notes.append(NoteEvent(at(0, 0), 0.5, CRASH, 90, DRUM_CHANNEL))
        for drum, velocities in pattern.items():
            for step, velocity in enumerate(velocities):
                if velocity:
                    jitter = int(rng.integers(-6, 7))
                    notes.append(NoteEvent(at(bar, step), 0.1, drum,
                                           int(np.clip(velocity + jitter, 1, 127)),
                                           DRUM_CHANNEL))
    return notes


CAPTION_TEMPLATES = (
    "{mood} {noun} with {instruments}, {bpm} bpm, {key}",
    "a {mood} {noun} featuring {instruments} in {key} at {bpm} BPM",
    "{instruments} playing {tempo} {mood} {genre} music in {key}, {bpm} bpm",
    "{noun}: {instruments}, {mood} feel, {key}, {bpm} bpm",
    "{tempo} {genre} instrumental, {mood}, led by {lead}, {key}, {bpm} bpm",
    "background music: a {mood} {noun} in {key}, {bpm} beats per minute, with {instruments}",
)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe(bed: Bed, rng: np.random.Generator) -> tuple[str, list[str]]:
    """A caption in one of several phrasings, and the separate tags."""
    instruments = bed.instruments
    lead = INSTRUMENTS[bed.programs.get(LEAD, bed.programs[CHORDS])][0]
    caption = str(rng.choice(CAPTION_TEMPLATES)).format(
        mood=bed.mood, noun=bed.noun, genre=bed.genre.name, instruments=_join(instruments),
        bpm=bed.bpm, key=bed.key.name, tempo=tempo_word(bed.bpm), lead=lead)
    tags = [bed.genre.name, bed.mood, tempo_word(bed.bpm), bed.key.name, f"{bed.bpm} bpm",
            *instruments]
    return caption, tags


def render_bed(bed: Bed, seconds: float) -> np.ndarray:
    """Render a bed to stereo ``(2, samples)``, panned and with the genre's reverb."""
    controls = {CHORDS: {PAN: 44, REVERB_SEND: bed.genre.reverb},
                BASS: {PAN: 64, REVERB_SEND: bed.genre.reverb // 3},
                LEAD: {PAN: 84, REVERB_SEND: bed.genre.reverb},
                DRUM_CHANNEL: {REVERB_SEND: bed.genre.reverb // 2}}
    return render_notes(bed.notes, bed.programs, seconds, controls=controls)

