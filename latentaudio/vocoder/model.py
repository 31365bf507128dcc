"""The vocoder: log-mel -> 44.1 kHz waveform, Vocos-style (Siuzdak 2023, "Vocos").

A ConvNeXt backbone keeps the mel's frame rate and an iSTFT head predicts each frame's complex
spectrum (log-magnitude and phase), so the network never upsamples in time: the inverse STFT does.
That is what makes it fast on a CPU. Stereo is vocoded as two mono items of one batch.

Phase (``phase="increment"``, the default for new models): instead of each frame's absolute phase
(Vocos), the head predicts how far each bin's phase deviates from the advance a sinusoid at the
bin's centre frequency makes in one hop, and the phase is the running sum: the
instantaneous-frequency parametrisation of GANSynth (Engel et al. 2019) and of the phase vocoder.
A steady tone then needs a constant output rather than one that tracks absolute time, which a
small CPU-trained model learns far sooner. ``phase="absolute"`` is the Vocos head.

Shapes: log-mel ``(B, C, n_mels, frames)`` -> waveform ``(B, C, samples)`` with
``samples = (frames - 1) * hop_length`` by default, the inverse of the front end's framing.
"""

from __future__ import annotations

import math

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from latentaudio.folders import SharedFolder
from latentaudio.layers import ChannelNorm, ConvNeXtBlock


class Vocoder(SharedFolder, ModelMixin, ConfigMixin):
    """Mel-to-waveform model with an inverse-STFT head."""

    @register_to_config
    def __init__(
        self,
        n_mels: int = 128,  # the front end's mel bands
        hidden_channels: int = 384,  # backbone width
        layers: int = 8,  # ConvNeXt blocks
        n_fft: int = 2048,  # the head's STFT size (window = n_fft, Hann)
        hop_length: int = 512,  # must equal the front end's hop: one mel frame per STFT frame
        mel_mean: float = -6.0,  # input normalisation, as the VAE's
        mel_std: float = 3.0,
        sample_rate: int = 44_100,
        phase: str = "absolute",  # "absolute" (Vocos) or "increment" (see the module docstring)
        max_magnitude: float = 1e2,  # cap on each bin's magnitude (Vocos: 100)
    ) -> None:
        super().__init__()
        if phase not in ("absolute", "increment"):
            raise ValueError(f"phase must be 'absolute' or 'increment', got {phase!r}")
        self.embed = nn.Conv1d(n_mels, hidden_channels, 7, padding=3)
        self.norm_in = ChannelNorm(hidden_channels)
        self.backbone = nn.Sequential(*[ConvNeXtBlock(hidden_channels) for _ in range(layers)])
        self.norm_out = ChannelNorm(hidden_channels)
        self.head = nn.Conv1d(hidden_channels, n_fft + 2, 1)  # log-magnitude and phase per bin
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def spectrum(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Mono log-mel ``(N, n_mels, frames)`` -> complex STFT ``(N, n_fft/2 + 1, frames)``."""
        c = self.config
        x = self.norm_in(self.embed((log_mel - c.mel_mean) / c.mel_std))
        x = self.head(self.norm_out(self.backbone(x))).float()
        log_magnitude, phase = x.chunk(2, dim=1)
        magnitude = torch.exp(log_magnitude.clamp(max=math.log(c.max_magnitude)))
        if c.phase == "increment":
            # Bin k advances 2 pi k hop / n_fft per frame; that times frame t, taken modulo
            # 2 pi in integers so long clips lose no precision, plus the summed deviations.
            frames = torch.arange(phase.shape[-1], device=phase.device)
            bins = torch.arange(phase.shape[1], device=phase.device)
            turns = (bins[:, None] * frames[None] * c.hop_length) % c.n_fft
            phase = torch.cumsum(phase, dim=-1) + turns * (2 * math.pi / c.n_fft)
        return torch.polar(magnitude, phase)

    def forward(self, log_mel: torch.Tensor, length: int | None = None) -> torch.Tensor:
        c = self.config
        if log_mel.ndim != 4 or log_mel.shape[2] != c.n_mels:
            raise ValueError(f"expected (batch, channels, {c.n_mels}, frames), "
                             f"got {tuple(log_mel.shape)}")
        batch, channels, _, frames = log_mel.shape
        length = (frames - 1) * c.hop_length if length is None else length
        if length == 0:  # one frame and no length asked for: nothing to synthesise
            return log_mel.new_zeros(batch, channels, 0, dtype=torch.float32)
        spectrum = self.spectrum(log_mel.reshape(batch * channels, c.n_mels, frames))
        wav = torch.istft(spectrum, c.n_fft, c.hop_length, window=self.window, center=True,
                          length=length)
        return wav.reshape(batch, channels, length)
