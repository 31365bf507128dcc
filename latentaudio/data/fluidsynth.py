"""Render note events through FluidSynth and a General MIDI SoundFont: real sampled instruments.

FluidSynth runs in-process (pyfluidsynth) far faster than real time, so music for the corpus and
the demo is rendered on the fly rather than shipped. The Debian packages ``fluidsynth`` (the
library) and a GM SoundFont (``timgm6mb-soundfont``, ``fluid-soundfont-gm``) must be installed;
``setup.sh`` installs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentaudio.audio import SAMPLE_RATE
from latentaudio.errors import MissingDependencyError

INSTALL_HINT = "apt-get install fluidsynth timgm6mb-soundfont (or run ./setup.sh)"

# Where Debian's GM SoundFont packages put their files, best first. TimGM6mb is small and always
# installed by setup.sh; FluidR3 (fluid-soundfont-gm) sounds better when present.
SOUNDFONT_PATHS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf2/MuseScore_General.sf2"),
)
# Synth gain, low enough that a full band stays under the int16 output's full scale (callers
# normalise afterwards). TimGM6mb is hotter than the others.
SOUNDFONT_GAIN = {"TimGM6mb.sf2": 0.12}
DEFAULT_GAIN = 0.2
DRUM_CHANNEL = 9  # General MIDI percussion channel (channel 10 counting from one)
DRUM_BANK = 128
VOLUME, PAN, REVERB_SEND, CHORUS_SEND = 7, 10, 91, 93  # MIDI controller numbers


@dataclass(frozen=True)
class NoteEvent:
    """One note: when it starts and how long it sounds, in seconds; General MIDI pitch (0-127)."""

    start: float
    duration: float
    pitch: int
    velocity: int = 100
    channel: int = 0


def find_soundfont(path: str | os.PathLike | None = None) -> Path:
    """The SoundFont to use: ``path`` if given, else the best installed Debian GM SoundFont."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise MissingDependencyError(f"SoundFont not found: {path}")
        return path
    for candidate in SOUNDFONT_PATHS:
        if candidate.is_file():
            return candidate
    raise MissingDependencyError(f"no General MIDI SoundFont is installed: {INSTALL_HINT}")


def _import_fluidsynth():
    try:
        import fluidsynth
    except (ImportError, OSError) as error:  # the Python binding, or the shared library it loads
        raise MissingDependencyError(
            f"FluidSynth is not usable ({error}): {INSTALL_HINT}") from error
    return fluidsynth


def render_notes(
    notes: Iterable[NoteEvent],
    programs: Mapping[int, int],
    seconds: float,
    *,
    soundfont: str | os.PathLike | None = None,
    sample_rate: int = SAMPLE_RATE,
    reverb: bool = True,
    controls: Mapping[int, Mapping[int, int]] | None = None,
) -> np.ndarray:
    """Render ``notes`` for ``seconds`` and return float32 stereo ``(2, samples)``.

    ``programs`` maps a MIDI channel to its General MIDI program number (0-127); channel 9 is
    always the drum kit. ``controls`` sets MIDI controllers per channel before the first note,
    e.g. ``{0: {PAN: 40, REVERB_SEND: 60}}``. The output is the synthesiser's raw level.
    """
    fluidsynth = _import_fluidsynth()
    font = find_soundfont(soundfont)
    synth = fluidsynth.Synth(samplerate=float(sample_rate),
                             gain=SOUNDFONT_GAIN.get(font.name, DEFAULT_GAIN))
    try:
        synth.setting("synth.reverb.active", int(reverb))
        font_id = synth.sfload(str(font))
        if font_id < 0:
            raise MissingDependencyError(f"FluidSynth could not load the SoundFont {font}")
        for channel, program in programs.items():
            if channel != DRUM_CHANNEL:
                synth.program_select(channel, font_id, 0, program)
        synth.program_select(DRUM_CHANNEL, font_id, DRUM_BANK, 0)
        for channel, values in (controls or {}).items():
            for controller, value in values.items():
                synth.cc(channel, controller, value)

        # (sample time, order, action): note-offs sort before note-ons at the same instant so a
        # repeated pitch re-strikes instead of being cut.
        events = []
        for note in notes:
            start = round(note.start * sample_rate)
            stop = round((note.start + note.duration) * sample_rate)
            events.append((start, 1, note))
            events.append((max(stop, start + 1), 0, note))
        events.sort(key=lambda event: (event[0], event[1]))

        total = round(seconds * sample_rate)
        chunks, now = [], 0
        for when, is_on, note in events:
            when = min(when, total)
            if when > now:
                chunks.append(synth.get_samples(when - now))
                now = when
            if is_on:
                synth.noteon(note.channel, note.pitch, note.velocity)
            else:
                synth.noteoff(note.channel, note.pitch)
        if total > now:
            chunks.append(synth.get_samples(total - now))
    finally:
        synth.delete()
    interleaved = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return (interleaved.reshape(-1, 2).T / 32768.0).astype(np.float32)
