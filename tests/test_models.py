"""The mel-VAE and the vocoder: shapes at every seam, any length, save -> load identity."""

import pytest
import torch

from latentaudio.codec import LatentCodec
from latentaudio.mel import MelSpectrogram
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return MelVAE(latent_channels=8, hidden_channels=16, encoder_blocks=1,
                  decoder_blocks=1).eval()


@pytest.fixture(scope="module")
def vocoder():
    torch.manual_seed(0)
    return Vocoder(hidden_channels=16, layers=1).eval()


def test_default_vae_meets_the_rate_and_compression_targets():
    model = MelVAE()
    assert model.latent_rate <= 21.6  # frames/s, Stable Audio Open's rate
    mel_values_per_second = 2 * 128 * 44_100 / 512
    latent_values_per_second = model.config.latent_channels * model.latent_rate
    assert mel_values_per_second / latent_values_per_second >= 32
    assert model.samples_per_latent == 2048 and model.downsampling_ratio == 4


@pytest.mark.parametrize("frames", [1, 2, 3, 4, 5, 17, 64, 101])
def test_vae_shapes_for_any_length(vae, frames):
    log_mel = torch.randn(2, 2, 128, frames)
    posterior = vae.encode(log_mel)
    assert posterior.mean.shape == (2, 8, -(-frames // 4))
    recon = vae.decode(posterior.mean, frames=frames)
    assert recon.shape == log_mel.shape
    full, _ = vae(log_mel)
    assert full.shape == log_mel.shape


def test_vae_rejects_wrong_shapes(vae):
    with pytest.raises(ValueError, match="expected"):
        vae.encode(torch.randn(1, 1, 128, 10))
    with pytest.raises(ValueError, match="expected"):
        vae.decode(torch.randn(1, 3, 10))


def test_kl_is_zero_for_a_standard_normal_posterior():
    from latentaudio.vae import LatentDistribution

    posterior = LatentDistribution(torch.zeros(1, 4, 5), torch.zeros(1, 4, 5))
    assert torch.all(posterior.kl() == 0)


@pytest.mark.parametrize("frames", [1, 2, 9, 44])
def test_vocoder_shapes(vocoder, frames):
    wav = vocoder(torch.randn(3, 2, 128, frames))
    assert wav.shape == (3, 2, (frames - 1) * 512)
    assert vocoder(torch.randn(1, 2, 128, frames), length=frames * 512 - 7).shape[-1] == \
        frames * 512 - 7


def test_vocoder_channels_are_independent(vocoder):
    log_mel = torch.randn(1, 2, 128, 12)
    both = vocoder(log_mel)
    left = vocoder(log_mel[:, :1])
    torch.testing.assert_close(both[:, :1], left, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make", ["vae", "vocoder"])
def test_save_load_gives_identical_outputs(tmp_path, make, vae, vocoder):
    model = vae if make == "vae" else vocoder
    model.save_pretrained(tmp_path / make)
    loaded = type(model).from_pretrained(tmp_path / make).eval()
    log_mel = torch.randn(1, 2, 128, 13)
    with torch.no_grad():
        expected = model.encode(log_mel).mean if make == "vae" else model(log_mel)
        got = loaded.encode(log_mel).mean if make == "vae" else loaded(log_mel)
    assert torch.equal(expected, got)


def test_codec_round_trip_shapes(vae, vocoder):
    codec = LatentCodec(vae, vocoder)
    wav = torch.randn(2, 2, 10_000) * 0.1
    latents = codec.encode(wav)
    frames = MelSpectrogram().config.num_frames(10_000)
    assert latents.shape == (2, 8, -(-frames // 4))
    assert codec.decode(latents, 10_000).shape == wav.shape
    assert codec.reconstruct(wav).shape == wav.shape
    griffin = LatentCodec(vae, None)
    assert griffin.decode(latents, 10_000).shape == wav.shape


def test_codec_refuses_mismatched_mel_settings(vae):
    with pytest.raises(ValueError, match="different mel"):
        LatentCodec(vae, Vocoder(n_mels=80, hidden_channels=8, layers=1))


def _one_bin_vocoder(phase: str, bin_: int) -> Vocoder:
    """A vocoder whose head ignores its input: magnitude 100 in one bin, ~0 elsewhere, phase
    output 0."""
    model = Vocoder(hidden_channels=16, layers=1, phase=phase, max_magnitude=1e3).eval()
    half = model.config.n_fft // 2 + 1
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.bias[:half] = -20.0
        model.head.bias[bin_] = 4.6  # log(100)
    return model


def test_increment_phase_makes_a_steady_tone_from_a_constant_output():
    """Zero phase deviation is a coherent sinusoid at the bin's centre frequency; the same
    output read as absolute phase cancels itself between overlapping frames."""
    bin_ = 66  # advances half a turn per hop: zero absolute phase cancels between frames
    log_mel = torch.zeros(1, 1, 128, 40)
    rms = {}
    for phase in ("increment", "absolute"):
        with torch.no_grad():
            wav = _one_bin_vocoder(phase, bin_)(log_mel)[0, 0, 4096:-4096]
        rms[phase] = float(wav.pow(2).mean().sqrt())
        if phase == "increment":
            spectrum = torch.fft.rfft(wav * torch.hann_window(len(wav)))
            peak_hz = float(spectrum.abs().argmax()) * 44_100 / len(wav)
            assert abs(peak_hz - bin_ * 44_100 / 2048) < 30
            frames = wav.unfold(0, 512, 512).pow(2).mean(-1).sqrt()
            assert float(frames.std() / frames.mean()) < 0.05
    assert rms["increment"] > 10 * rms["absolute"]


def test_old_vocoder_configs_keep_the_vocos_head():
    model = Vocoder(hidden_channels=8, layers=1)
    assert model.config.phase == "absolute" and model.config.max_magnitude == 100.0
    with pytest.raises(ValueError, match="phase"):
        Vocoder(hidden_channels=8, layers=1, phase="random")


def _tone_mel(mel: MelSpectrogram, freq: float) -> torch.Tensor:
    from tests.signals import sine

    return mel(torch.from_numpy(sine(freq, seconds=0.5)).float()[None])  # (1, 2, n_mels, frames)


def test_mel_chroma_finds_the_pitch_class_of_a_tone_and_the_loss_tells_notes_apart():
    from latentaudio.vae.chroma import MelChroma, chroma_loss

    mel = MelSpectrogram()
    chroma = MelChroma(mel)
    a4, c5 = _tone_mel(mel, 440.0), _tone_mel(mel, 523.25)
    profile, _ = chroma(a4)
    assert int(profile.mean(dim=(0, 1, 3)).argmax()) == 9  # A, C first
    mask = torch.ones(1, a4.shape[-1], dtype=torch.bool)
    assert float(chroma_loss(chroma, a4, a4, mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(chroma_loss(chroma, c5, a4, mask)) > 0.5
    # A louder copy is the same note: chroma is normalised per frame.
    assert float(chroma_loss(chroma, a4 + 1.0, a4, mask)) == pytest.approx(0.0, abs=1e-5)
