"""Tempo and key estimation on synthetic audio whose answer is known."""

import numpy as np
import pytest

from latentaudio.evaluation.music import (
    beat_offset,
    beat_tempo,
    chroma_frames,
    estimate_key,
    estimate_tempo,
    key_score,
    tempo_accuracy,
)
from latentaudio.theory import Key

SR = 44_100


def clicks(bpm: float, seconds: float = 8.0, offset: float = 0.0) -> np.ndarray:
    """A click on every beat, the first ``offset`` seconds in."""
    audio = np.zeros(int(seconds * SR), dtype=np.float32)
    burst = np.exp(-np.arange(800) / 120.0) * np.sin(2 * np.pi * 1500 * np.arange(800) / SR)
    for start in np.arange(offset, seconds, 60.0 / bpm):
        i = int(start * SR)
        audio[i: i + 800] += burst[: len(audio) - i]
    return np.stack([audio, audio])


def chords(key: Key, seconds_each: float = 1.0) -> np.ndarray:
    """I-IV-V-I with soft harmonics."""
    t = np.arange(int(seconds_each * SR)) / SR
    parts = []
    for degree in (0, 3, 4, 0):
        notes = key.chord(degree, octave=4)
        tone = sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t * h) / h
                   for n in notes for h in (1, 2))
        parts.append(tone * np.hanning(len(t)))
    mono = np.concatenate(parts).astype(np.float32) * 0.1
    return np.stack([mono, mono])


@pytest.mark.parametrize("bpm", [90, 120, 140, 150])
def test_tempo_of_a_click_track(bpm):
    estimate = estimate_tempo(clicks(bpm), SR)  # the default prior, not the answer
    assert tempo_accuracy(estimate, bpm)[0], estimate


@pytest.mark.parametrize("bpm", [117.5, 120.0, 122.4])
def test_beat_tempo_sees_what_the_lag_grid_cannot(bpm):
    # 117.5 and 122.4 bpm fall between the autocorrelation's lags (117.5 / 120.2 / 123.0)
    assert abs(beat_tempo(clicks(bpm, 20.0), SR) - bpm) < 0.2
    assert beat_tempo(np.zeros((2, SR)), SR) == 0.0


@pytest.mark.parametrize("bpm,offset", [(120, 0.0), (120, 0.21), (90, 0.52), (150, 0.33)])
def test_beat_offset_finds_where_the_beats_fall(bpm, offset):
    period = 60.0 / bpm
    found = beat_offset(clicks(bpm, offset=offset), SR, bpm)
    assert 0.0 <= found < period
    error = abs((found - offset + period / 2) % period - period / 2)  # circular, in seconds
    # Within half a latent frame (23 ms): the onset lag taken off is a music note's, 35 ms;
    # a click's is shorter.
    assert error <= 0.023, (found, offset)
    assert beat_offset(np.zeros((2, SR)), SR, 120.0) == 0.0


def test_tempo_accuracy_rules():
    assert tempo_accuracy(123.0, 120.0) == (True, True)
    assert tempo_accuracy(240.0, 120.0) == (False, True)
    assert tempo_accuracy(100.0, 120.0) == (False, False)
    assert estimate_tempo(np.zeros((2, SR)), SR) == 0.0


@pytest.mark.parametrize("name", ["C major", "A minor", "F# major", "Eb minor", "Bb major"])
def test_key_of_a_cadence(name):
    assert estimate_key(chords(Key.parse(name)), SR) == Key.parse(name)


def test_mirex_key_weights():
    c = Key.parse("C major")
    assert key_score(c, c) == 1.0
    assert key_score(Key.parse("G major"), c) == 0.5
    assert key_score(Key.parse("F major"), c) == 0.5
    assert key_score(Key.parse("A minor"), c) == 0.3
    assert key_score(Key.parse("C minor"), c) == 0.2
    assert key_score(Key.parse("E minor"), Key.parse("G major")) == 0.3
    assert key_score(Key.parse("D major"), c) == 0.0


def test_key_of_a_c_major_scale_and_an_a_minor_triad():
    t = np.arange(int(0.4 * SR)) / SR
    scale = np.concatenate([np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t) * np.hanning(len(t))
                            for n in (60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60)])
    assert estimate_key(np.stack([scale, scale]) * 0.2, SR) == Key.parse("C major")
    t = np.arange(2 * SR) / SR
    triad = sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t) for n in (57, 60, 64, 69))
    assert estimate_key(np.stack([triad, triad]) * 0.1, SR) == Key.parse("A minor")


def test_a_short_clip_has_a_key_and_no_warnings(recwarn):
    t = np.arange(int(0.8 * SR)) / SR
    triad = sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t) for n in (57, 60, 64, 69))
    assert estimate_key(np.stack([triad, triad]) * 0.1, SR) == Key.parse("A minor")
    assert chroma_frames(np.stack([triad, triad]), SR).shape == (12, 1 + len(t) // 2 // 512)
    assert not [w for w in recwarn if "too large" in str(w.message)]
