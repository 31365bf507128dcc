"""Mastering: exact length, fades, -14 LUFS within 0.1 LU, true peak at most -1 dBTP, silence."""

import numpy as np
import pytest

from latentaudio.postprocess import (
    MasteringConfig,
    TruePeakLimiter,
    fade,
    loudness,
    master,
    trim,
    true_peak,
)
from tests.signals import sine

RATE = 44_100


def test_sine_is_normalised_to_minus_14_lufs():
    out, report = master(sine(1000.0, seconds=3.0, amplitude=0.05), RATE)
    assert loudness(out, RATE) == pytest.approx(-14.0, abs=0.1)
    assert report.loudness_after == pytest.approx(-14.0, abs=0.1)
    assert report.gain_db > 0 and not report.limited


@pytest.mark.parametrize("target", [-23.0, -16.0, -9.0])
def test_other_targets(target):
    out, _ = master(sine(440.0, seconds=2.0, amplitude=0.3), RATE,
                    config=MasteringConfig(target_lufs=target))
    assert loudness(out, RATE) == pytest.approx(target, abs=0.1)


def test_loud_peaky_audio_stays_under_minus_1_dbtp():
    rng = np.random.default_rng(0)
    clicks = np.zeros((2, RATE * 2), dtype=np.float32)
    clicks[:, ::4410] = 1.0  # sharp full-scale impulses
    noisy = clicks + 0.05 * rng.standard_normal(clicks.shape).astype(np.float32)
    out, report = master(noisy, RATE, config=MasteringConfig(target_lufs=-8.0))
    assert true_peak(out) <= -1.0 + 1e-6
    assert report.limited


def test_true_peak_sees_inter_sample_peaks():
    # A quarter-rate sine sampled at 45 degrees: samples peak at 0.707, the waveform at 1.0.
    n = np.arange(4000)
    wav = np.sin(2 * np.pi * n / 4 + np.pi / 4)[None].astype(np.float32)
    assert 20 * np.log10(np.abs(wav).max()) == pytest.approx(-3.0, abs=0.05)
    assert true_peak(wav) == pytest.approx(0.0, abs=0.3)


def test_silence_stays_silent():
    out, report = master(np.zeros((2, RATE * 2), dtype=np.float32), RATE)
    assert np.all(out == 0) and report.gain_db == 0.0
    hiss = sine(440.0, seconds=2.0, amplitude=1e-5)  # about -100 LUFS: below the gate
    out, report = master(hiss, RATE)
    assert report.gain_db == 0.0


def test_trim_and_fades():
    wav = np.ones((2, 1000), dtype=np.float32)
    assert trim(wav, 600).shape == (2, 600)
    padded = trim(wav, 1500)
    assert padded.shape == (2, 1500) and np.all(padded[:, 1000:] == 0)
    faded = fade(wav, RATE, 0.001, 0.002)
    assert faded[0, 0] == 0.0 and faded[0, -1] == pytest.approx(0.0, abs=1e-7)
    assert faded[0, 500] == 1.0


def test_short_clip_is_peak_limited_only():
    out, report = master(sine(440.0, seconds=0.2, amplitude=1.0), RATE, samples=8820)
    assert out.shape == (2, 8820)
    assert np.isnan(report.loudness_before) and report.gain_db == 0.0
    assert true_peak(out) <= -1.0 + 1e-6


def _ffmpeg_lufs(wav: np.ndarray, tmp_path) -> float:
    """Integrated loudness by ffmpeg's ebur128 filter: a meter independent of pyloudnorm."""
    import re
    import shutil
    import subprocess

    from latentaudio.audio import save_audio

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (./setup.sh installs it)")
    path = save_audio(tmp_path / "meter.wav", wav)
    run = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-af",
                          "ebur128", "-f", "null", "-"], capture_output=True, text=True,
                         check=True)
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", run.stderr)[-1])


def _dense_noise(rng) -> np.ndarray:
    # Loud broadband noise with a slow swell: the limiter must act, and used to add make-up gain.
    envelope = 0.6 + 0.4 * np.sin(np.linspace(0, 6 * np.pi, RATE * 6))
    return (0.5 * envelope * rng.standard_normal((2, RATE * 6))).astype(np.float32)


def _sparse_knocks() -> np.ndarray:
    # Four short knocks in 6 s of near-silence: peaks far above the loudness.
    wav = np.zeros((2, RATE * 6), dtype=np.float32)
    n = np.arange(6000)  # 136 ms: a sharp hit, then the door's wood ringing at 180 Hz
    knock = np.exp(-n / 1200.0) * np.sin(2 * np.pi * 180 * n / RATE) * (1 + 2 * np.exp(-n / 40))
    for start in (0.5, 1.1, 3.0, 3.6):
        at = int(start * RATE)
        wav[:, at:at + 6000] += (0.05 * knock).astype(np.float32)
    return wav


@pytest.mark.parametrize("name", ["dense", "sparse", "sine"])
def test_loudness_converges_to_the_target_under_the_ceiling(name, tmp_path):
    rng = np.random.default_rng(0)
    wav = {"dense": _dense_noise(rng), "sparse": _sparse_knocks(),
           "sine": sine(300.0, seconds=4.0, amplitude=0.9)}[name]
    out, report = master(wav, RATE)
    measured = loudness(out, RATE)
    assert true_peak(out) <= -1.0 + 1e-6
    assert measured <= -14.0 + 0.1  # never louder than asked
    assert report.loudness_after == pytest.approx(measured, abs=0.01)  # the report is true
    assert report.loudness_case == "target" and measured == pytest.approx(-14.0, abs=0.5)
    assert _ffmpeg_lufs(out, tmp_path) == pytest.approx(measured, abs=0.3)


def test_a_clip_the_ceiling_holds_down_ends_as_close_as_it_allows_and_says_so():
    single = np.zeros((2, RATE * 8), dtype=np.float32)
    single[:, RATE] = 0.9  # one click in 8 s: -14 LUFS would need +30 dB of limiting
    out, report = master(single, RATE)
    assert report.loudness_case == "ceiling" and report.loudness_after < -14.5
    assert true_peak(out) <= -1.0 + 1e-6
    assert report.loudness_after == pytest.approx(loudness(out, RATE), abs=0.01)


def test_near_silence_is_reported_silent():
    _, report = master(sine(440.0, seconds=2.0, amplitude=1e-5), RATE)
    assert report.loudness_case == "silent" and report.gain_db == 0.0


def test_the_limiter_estimates_once_and_aims_below_a_residue_it_measured():
    limiter = TruePeakLimiter(_dense_noise(np.random.default_rng(0)), RATE, -1.0)
    limited, estimate, acted = limiter(10.0)  # +10 dB into the ceiling: the limiter acts
    assert acted and estimate <= -1.0 + 1e-9
    # The gain's slope lifts an interpolated peak a little above the estimate; verify()
    # measures it, trims it, and the limiter aims that much lower from then on.
    trimmed, peak, trim_db = limiter.verify(limited)
    assert true_peak(limited) > -1.0 and trim_db > 0
    assert peak == pytest.approx(true_peak(trimmed)) and peak <= -1.0
    again, _, _ = limiter(10.0)
    assert limiter.aim_dbtp < -1.0 and true_peak(again) <= -1.0
