"""latentaudio.mel: shapes, determinism, batching, and the Griffin-Lim baseline."""

from pathlib import Path

import numpy as np
import pytest
import torch

from latentaudio.evaluation.spectral import spectral_convergence
from latentaudio.mel import MelConfig, MelSpectrogram, griffin_lim
from tests.signals import peak_frequency, sine

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mel():
    return MelSpectrogram()


@pytest.mark.parametrize("samples", [1, 100, 511, 512, 513, 1024, 44_100, 2 * 44_100 + 17])
def test_shape_for_any_length(mel, samples):
    out = mel(torch.zeros(3, 2, samples))
    assert out.shape == (3, 2, 128, samples // 512 + 1)
    assert out.shape[-1] == mel.config.num_frames(samples)


def test_rejects_unbatched_input(mel):
    with pytest.raises(ValueError, match="batch, channels, samples"):
        mel(torch.zeros(2, 1000))


def test_silence_is_the_log_floor(mel):
    out = mel(torch.zeros(1, 2, 4096))
    torch.testing.assert_close(out, torch.full_like(out, mel.config.log_floor_value))


def test_deterministic_and_batch_independent(mel):
    torch.manual_seed(0)
    batch = torch.randn(4, 2, 10_000) * 0.1
    whole = mel(batch)
    assert torch.equal(whole, mel(batch))
    for i in range(4):
        torch.testing.assert_close(mel(batch[i: i + 1])[0], whole[i], rtol=1e-5, atol=1e-5)


def test_channels_are_analysed_independently(mel):
    stereo = torch.from_numpy(sine(channels=2))[None]
    swapped = stereo.flip(1)
    torch.testing.assert_close(mel(swapped), mel(stereo).flip(1))


def test_sine_energy_lands_in_the_right_band(mel):
    out = mel(torch.from_numpy(sine(1000.0, channels=1))[None])
    band = int(out[0, 0].mean(-1).argmax())
    centres = mel.mel_basis.argmax(dim=1) * mel.config.sample_rate / mel.config.n_fft
    assert abs(float(centres[band]) - 1000.0) < 60.0


def test_shipped_config_is_the_default():
    assert MelConfig.from_json(REPO / "configs" / "mel.json") == MelConfig()


def test_config_rejects_nonsense():
    with pytest.raises(ValueError):
        MelConfig(hop_length=4096, n_fft=2048)
    with pytest.raises(ValueError):
        MelConfig(f_max=30_000.0)
    with pytest.raises(ValueError, match="unknown mel config keys"):
        MelConfig.from_dict({"hop": 256})


def test_config_round_trips_through_dict():
    config = MelConfig(hop_length=256, n_mels=80)
    assert MelConfig.from_dict(config.to_dict()) == config
    assert config.frames_per_second == pytest.approx(44_100 / 256)


# --------------------------------------------------------------------------------- Griffin-Lim
def test_griffin_lim_recovers_a_sines_pitch(mel):
    tone = torch.from_numpy(sine(440.0, seconds=1.0))[None]  # (1, 2, 44100)
    rebuilt = griffin_lim(mel(tone), mel, n_iter=32, length=tone.shape[-1])
    assert rebuilt.shape == tone.shape
    for channel in range(2):
        assert peak_frequency(rebuilt[0, channel].numpy()) == pytest.approx(440.0, rel=0.02)


def test_griffin_lim_iterations_make_the_spectrogram_consistent(mel):
    torch.manual_seed(1)
    t = torch.arange(22_050) / 44_100
    chord = sum(torch.sin(2 * torch.pi * f * t) for f in (262.0, 330.0, 392.0)) / 4
    signal = (chord * torch.exp(-3 * t)).repeat(1, 2, 1)
    distances = [spectral_convergence(signal, griffin_lim(mel(signal), mel, n_iter=n,
                                                          length=signal.shape[-1]), mel)
                 for n in (1, 32)]
    assert distances[1] < 0.7 * distances[0]


def test_griffin_lim_is_deterministic_and_batched(mel):
    torch.manual_seed(2)
    batch = torch.randn(3, 2, 8192) * 0.1
    log_mel = mel(batch)
    first = griffin_lim(log_mel, mel, n_iter=4)
    assert first.shape == (3, 2, mel.config.num_samples(log_mel.shape[-1]))
    assert torch.equal(first, griffin_lim(log_mel, mel, n_iter=4))
    seeded = griffin_lim(log_mel, mel, n_iter=4, generator=torch.Generator().manual_seed(5))
    assert not torch.equal(first, seeded)


def test_griffin_lim_checks_its_input(mel):
    with pytest.raises(ValueError, match="frames"):
        griffin_lim(torch.zeros(1, 2, 64, 10), mel)
    with pytest.raises(ValueError, match="cannot come from"):
        griffin_lim(torch.zeros(1, 2, 128, 10), mel, length=100_000)


def test_magnitude_inverse_is_non_negative(mel):
    log_mel = mel(torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, (1, 2, 4096))
                                   .astype(np.float32)))
    assert mel.mel_to_magnitude(log_mel[0]).min() >= 0


def test_refined_magnitudes_fit_the_mel_better_than_the_clipped_pseudo_inverse(mel):
    torch.manual_seed(0)
    signal = torch.randn(1, 1, 22_050) * torch.linspace(0, 1, 22_050)
    log_mel = mel(signal)[0]  # (1, n_mels, frames)
    target = log_mel.exp()

    def misfit(magnitude):
        return float((torch.log((mel.mel_basis @ magnitude).clamp_min(1e-5)) - log_mel).abs()
                     .mean())

    plain, refined = mel.mel_to_magnitude(log_mel), mel.mel_to_magnitude(log_mel, refine=10)
    assert (refined >= 0).all() and misfit(refined) < 0.8 * misfit(plain)
    assert float(torch.linalg.norm(mel.mel_basis @ refined - target)) < float(
        torch.linalg.norm(mel.mel_basis @ plain - target))


@pytest.mark.parametrize("config", [MelConfig(), MelConfig(n_fft=1024, hop_length=256, n_mels=80,
                                                            f_min=30.0, f_max=16_000.0)])
def test_the_filterbank_is_librosas(config):
    librosa = pytest.importorskip("librosa")
    from latentaudio.mel import mel_filterbank

    expected = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft,
                                   n_mels=config.n_mels, fmin=config.f_min, fmax=config.f_max)
    np.testing.assert_allclose(mel_filterbank(config), expected, rtol=0, atol=1e-7)
