"""FluidSynth rendering: real sampled instruments at the pitch and time we asked for."""

import numpy as np
import pytest

from latentaudio.data.fluidsynth import DRUM_CHANNEL, NoteEvent, find_soundfont, render_notes
from latentaudio.errors import MissingDependencyError
from tests.signals import peak_frequency


def test_a4_on_a_flute_sounds_at_440_hz():
    audio = render_notes([NoteEvent(0.0, 1.0, 69)], {0: 73}, 1.0, reverb=False)  # GM 73 flute
    assert audio.shape == (2, 44_100)
    assert audio.dtype == np.float32
    assert np.abs(audio).max() > 0.01
    assert peak_frequency(audio[0, 4410:]) == pytest.approx(440.0, rel=0.02)


def test_notes_start_when_asked():
    audio = render_notes([NoteEvent(0.5, 0.2, 36, channel=DRUM_CHANNEL)], {}, 1.0, reverb=False)
    envelope = np.abs(audio).max(axis=0)
    onset = int(np.argmax(envelope > 0.1 * envelope.max()))
    assert abs(onset - 22_050) < 441  # within 10 ms
    assert np.abs(audio[:, :22_000]).max() < 1e-3  # silence, up to FluidSynth's dither


def test_missing_soundfont_names_the_fix(tmp_path):
    with pytest.raises(MissingDependencyError, match="SoundFont not found"):
        find_soundfont(tmp_path / "none.sf2")
