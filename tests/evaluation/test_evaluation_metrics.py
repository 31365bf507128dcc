"""FAD, conformance checks and chroma similarity on inputs whose answer is known."""

import numpy as np
import pytest

from latentaudio.evaluation.conformance import check, silence_ratio
from latentaudio.evaluation.fad import fad
from latentaudio.evaluation.music import chroma_similarity

SR = 44_100


def test_fad_of_a_set_with_itself_is_zero_and_grows_with_noise():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 16))
    assert fad(base, base) == pytest.approx(0.0, abs=1e-6)
    distances = [fad(base, base + rng.normal(scale=s, size=base.shape)) for s in (0.1, 0.5, 1.0)]
    assert distances[0] < distances[1] < distances[2]
    shifted = fad(base, base + 3.0)
    assert shifted == pytest.approx(16 * 9.0, rel=1e-3)  # |mean shift|^2, same covariance


def test_fad_with_fewer_clips_than_dimensions_is_finite():
    rng = np.random.default_rng(1)
    value = fad(rng.normal(size=(10, 64)), rng.normal(size=(12, 64)))
    assert np.isfinite(value) and value > 0


def test_fad_needs_two_clips():
    with pytest.raises(ValueError, match="N >= 2"):
        fad(np.zeros((1, 4)), np.zeros((5, 4)))


def tone(seconds=2.0, amplitude=0.5, freq=440.0):
    t = np.arange(int(seconds * SR)) / SR
    mono = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([mono, mono])


def test_conformance_of_a_tone():
    result = check(tone(), SR, seconds=2.0, target_lufs=-14.0)
    assert result.seconds == pytest.approx(2.0) and result.seconds_error == pytest.approx(0.0)
    assert np.isfinite(result.lufs) and result.lufs_error == pytest.approx(result.lufs + 14.0)
    assert result.true_peak_dbtp == pytest.approx(20 * np.log10(0.5), abs=0.1)
    assert result.true_peak_ok and not result.silent and result.clipped_ratio == 0.0


def test_conformance_flags_silence_clipping_and_a_hot_peak():
    silent = check(np.zeros((2, SR), dtype=np.float32), SR, seconds=1.5, target_lufs=-14.0)
    assert silent.silent and silent.silence_ratio == 1.0 and np.isnan(silent.lufs)
    assert silent.seconds_error == pytest.approx(-0.5)
    hot = check(np.clip(tone(amplitude=2.0), -1, 1), SR)
    assert hot.clipped_ratio > 0.1 and not hot.true_peak_ok
    half = tone()
    half[:, : SR] = 0
    assert silence_ratio(half, SR) == pytest.approx(0.5, abs=0.03)


def test_chroma_similarity_matches_a_transposed_melody_less():
    melody = np.concatenate([tone(0.5, freq=f) for f in (261.6, 329.6, 392.0, 523.3)], axis=1)
    octave_up = np.concatenate([tone(0.5, freq=2 * f) for f in (261.6, 329.6, 392.0, 523.3)],
                               axis=1)
    other = np.concatenate([tone(0.5, freq=f) for f in (277.2, 370.0, 415.3, 311.1)], axis=1)
    same = chroma_similarity(octave_up, melody, SR)  # chroma ignores the octave
    assert same > 0.8
    assert chroma_similarity(other, melody, SR) < same - 0.3


def test_hop_comb_prominence_sees_a_frame_rate_buzz_and_not_noise():
    from latentaudio.evaluation.spectral import hop_comb_prominence

    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal((2, 5 * 44_100))
    buzz = np.zeros(5 * 44_100)
    buzz[::512] = 1.0  # one click per hop: tones at every k x 86.13 Hz
    assert hop_comb_prominence(noise) == pytest.approx(1.05, abs=0.1)
    assert hop_comb_prominence(0.05 * noise + 0.5 * buzz) > 20
    # Tones off the grid (k x 86.13 + 40 Hz) are not the comb.
    t = np.arange(5 * 44_100) / 44_100
    off_grid = sum(np.sin(2 * np.pi * (k * 44_100 / 512 + 40) * t) for k in range(2, 60))
    assert hop_comb_prominence(noise + 0.05 * off_grid) < 1.3
    assert np.isnan(hop_comb_prominence(np.zeros(44_100)))
