"""The ways log-mel becomes audio: the hybrid decoder removes a frame-rate comb that a vocoder's
frame-by-frame phase makes, every decoder gives the asked length, and bad names fail clearly."""

import numpy as np
import pytest
import torch

from latentaudio.codec import LatentCodec
from latentaudio.decoders import DECODERS
from latentaudio.errors import LatentAudioError
from latentaudio.evaluation.spectral import hop_comb_prominence
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder


class ZeroPhaseVocoder(Vocoder):
    """A vocoder that gets every magnitude right (those of ``reference``) and gives every frame
    the same phase (bin k: pi k, a burst at the window's centre): the output then repeats every
    hop, the comb at k x 86.13 Hz that the shipped vocoder v1 puts on its clips."""

    reference: torch.Tensor  # (N, samples)

    def spectrum(self, log_mel):
        window = torch.hann_window(self.config.n_fft)
        true = torch.stft(self.reference, self.config.n_fft, self.config.hop_length,
                          window=window, center=True, pad_mode="constant", return_complex=True)
        centred = torch.pi * torch.arange(true.shape[1], dtype=torch.float32)[:, None]
        return torch.polar(true.abs(), centred.expand(true.shape))[..., :log_mel.shape[-1]]


@pytest.fixture(scope="module")
def noise_codec():
    torch.manual_seed(0)
    vocoder = ZeroPhaseVocoder(hidden_channels=8, layers=1)
    noise = torch.randn(1, 2, 4 * 44_100) * 0.1
    vocoder.reference = noise.reshape(2, -1)
    codec = LatentCodec(MelVAE(latent_channels=4, hidden_channels=8, encoder_blocks=1,
                               decoder_blocks=1), vocoder)
    return codec, noise


def test_hybrid_removes_the_frame_rate_comb_of_a_vocoders_phase(noise_codec):
    codec, noise = noise_codec
    log_mel = codec.mel(noise)
    original = hop_comb_prominence(noise[0].numpy())
    vocoded = hop_comb_prominence(codec.vocode(log_mel, noise.shape[-1], "vocoder")[0].numpy())
    hybrid = codec.vocode(log_mel, noise.shape[-1], "hybrid")
    assert original < 1.3
    assert vocoded > 8 * original  # the comb
    assert hop_comb_prominence(hybrid[0].numpy()) < 1.3 * original  # gone
    # ... and its magnitudes are the mel's: a log-mel close to the original's.
    assert float((codec.mel(hybrid) - log_mel).abs().mean()) < 0.35


def test_every_decoder_gives_the_asked_length_deterministically(noise_codec):
    codec, noise = noise_codec
    log_mel = codec.mel(noise[..., :44_100])
    for decoder in DECODERS:
        first = codec.vocode(log_mel, 44_100, decoder)
        assert first.shape == (1, 2, 44_100) and first.dtype == torch.float32
        np.testing.assert_array_equal(first.numpy(), codec.vocode(log_mel, 44_100, decoder))


def test_the_default_is_hybrid_which_needs_no_vocoder(noise_codec):
    codec, _ = noise_codec
    assert codec.decoder == "hybrid"
    bare = LatentCodec(codec.vae)
    assert bare.decoder == "hybrid"
    with pytest.raises(LatentAudioError, match=r"needs a vocoder.*--decoder hybrid"):
        bare.check_decoder("vocoder")
    with pytest.raises(LatentAudioError, match=r"unknown decoder 'wavenet'.*hybrid"):
        codec.check_decoder("wavenet")


def test_requests_offer_exactly_the_codecs_decoders():
    from typing import get_args

    from latentaudio.request import Decoder

    assert get_args(Decoder) == DECODERS


def test_hybrid_needs_no_vocoder_and_ignores_it(noise_codec):
    codec, noise = noise_codec
    log_mel = codec.mel(noise[..., :44_100])
    np.testing.assert_array_equal(LatentCodec(codec.vae).vocode(log_mel, 44_100, "hybrid"),
                                  codec.vocode(log_mel, 44_100, "hybrid"))


@pytest.fixture(scope="module")
def shipped_codec():
    from latentaudio.codec import LatentCodec

    return LatentCodec.from_pretrained()


def _signals():
    rate, t = 44_100, np.arange(2 * 44_100) / 44_100
    tone = sum(0.2 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 6))
    noise = np.random.default_rng(0).standard_normal(len(t)) * 0.1 * np.exp(-(t - 1) ** 2 / 0.2)
    chirp = 0.3 * np.sin(2 * np.pi * (200 * t + 400 * t**2))
    return {name: torch.from_numpy(np.stack([x, 0.8 * x]).astype(np.float32))[None]
            for name, x in (("tone", tone), ("noise", noise), ("chirp", chirp))}, rate


# Log-mel L1 of the shipped codec's round trip with the default decoder, measured 0.57 (tone),
# 0.36 (noise) and 0.38 (chirp); another signal is 2.5 to 5 away.
RECONSTRUCTION_BOUNDS = {"tone": 0.7, "noise": 0.5, "chirp": 0.5}


@pytest.mark.parametrize("name", sorted(RECONSTRUCTION_BOUNDS))
def test_the_shipped_codec_reconstructs_within_bounds(shipped_codec, name):
    from latentaudio.evaluation.spectral import hop_comb_prominence, log_mel_l1
    from tests.signals import peak_frequency

    signals, rate = _signals()
    wav = signals[name]
    out = shipped_codec.reconstruct(wav)  # the default decoder
    assert out.shape == wav.shape
    assert log_mel_l1(wav, out, shipped_codec.mel) < RECONSTRUCTION_BOUNDS[name]
    if name == "tone":  # measured 213.5 Hz, 52 cents flat: the mel bands are 30 Hz wide there
        cents = 1200 * np.log2(peak_frequency(out[0, 0].numpy(), rate) / 220)
        assert abs(cents) < 75
    if name == "noise":  # no comb of tones at multiples of rate / hop
        ratio = (hop_comb_prominence(out[0].numpy(), rate)
                 / hop_comb_prominence(wav[0].numpy(), rate))
        assert ratio < 1.6
