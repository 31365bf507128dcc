"""The latent codec: waveform <-> scaled latents, shared by every generator.

encode: waveform -> stereo log-mel -> VAE posterior mean -> x scaling_factor
decode: latents / scaling_factor -> VAE decoder -> log-mel -> a decoder (DECODERS) -> waveform

The decoders (hybrid, vocoder, griffin-lim) are described in :mod:`latentaudio.decoders`.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from latentaudio.decoders import (
    DEFAULT_DECODER,
    GRIFFIN_LIM_ITERATIONS,
    HYBRID_ITERATIONS,
    HYBRID_REFINE,
    check_decoder_name,
)
from latentaudio.errors import LatentAudioError
from latentaudio.mel import MelConfig, MelSpectrogram, griffin_lim, phase_retrieval
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder

REPO_CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
DEFAULT_MODEL = REPO_CHECKPOINTS / "latentaudio-small"


def load_component(cls, folder: str | os.PathLike, dtype: torch.dtype = torch.float32):
    """Load a diffusers-format component folder, or fail in one line saying what to do."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise LatentAudioError(
            f"no {cls.__name__} checkpoint at {folder} (expected config.json and a "
            "safetensors file): pass --checkpoint DIR or train one with 'latentaudio train'")
    return cls.from_pretrained(folder, dtype=dtype).eval()


def component_folder(folder: str | os.PathLike) -> Path:
    """A training run's final/ (else the EMA weights of its latest checkpoint, ema/), or the
    folder itself when it is a component."""
    folder = Path(folder)
    source = next((folder / name for name in ("final", "ema")
                   if (folder / name / "config.json").is_file()), folder)
    if not (source / "config.json").is_file():
        raise LatentAudioError(f"{source} has no config.json: is it a run or a component folder?")
    return source


class LatentCodec:
    """A mel front end, a mel-VAE and a vocoder (None: Griffin-Lim only) that agree on the mel.

    ``decoder`` is the default way :meth:`vocode` turns log-mel into audio (``DECODERS``).
    """

    def __init__(self, vae: MelVAE, vocoder: Vocoder | None = None,
                 decoder: str | None = None) -> None:
        self.vae = vae
        self.vocoder = vocoder
        mel_config = MelConfig(sample_rate=vae.config.sample_rate, hop_length=vae.config.hop_length,
                               n_mels=vae.config.n_mels)
        self.mel = MelSpectrogram(mel_config)
        if vocoder is not None and (vocoder.config.n_mels, vocoder.config.hop_length) != (
                mel_config.n_mels, mel_config.hop_length):
            raise ValueError("the vocoder and the VAE were trained on different mel settings")
        self.decoder = self.check_decoder(decoder)

    def check_decoder(self, decoder: str | None) -> str:
        """``decoder`` if this codec can use it (None: the default), else a one-line error."""
        if check_decoder_name(decoder) is None:
            return DEFAULT_DECODER
        if decoder == "vocoder" and self.vocoder is None:
            raise LatentAudioError("the 'vocoder' decoder needs a vocoder and this model has "
                                   "none: use --decoder hybrid or griffin-lim")
        return decoder

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike = DEFAULT_MODEL, *,
                        griffin_lim_only: bool = False, decoder: str | None = None
                        ) -> LatentCodec:
        """Load ``folder/vae`` and ``folder/vocoder`` (fp16 on disk, fp32 in memory)."""
        folder = Path(folder)
        vae = load_component(MelVAE, folder / "vae")
        vocoder = None if griffin_lim_only else load_component(Vocoder, folder / "vocoder")
        return cls(vae, vocoder, decoder)

    @property
    def sample_rate(self) -> int:
        return self.vae.config.sample_rate

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``(B, 2, samples)`` -> scaled latents ``(B, C, ceil(frames / ratio))``."""
        log_mel = self.mel.to(wav.device)(wav)
        posterior = self.vae.encode(log_mel.to(self.vae.device, self.vae.dtype))
        return posterior.mean * self.vae.config.scaling_factor

    @torch.no_grad()
    def decode_mel(self, latents: torch.Tensor, samples: int) -> torch.Tensor:
        """Scaled latents -> log-mel ``(B, 2, n_mels, frames)`` for a ``samples``-long output."""
        frames = self.mel.config.num_frames(samples)
        latents = latents.to(self.vae.device, self.vae.dtype)
        return self.vae.decode(latents / self.vae.config.scaling_factor, frames=frames).float()

    @torch.no_grad()
    def vocode(self, log_mel: torch.Tensor, samples: int, decoder: str | None = None
               ) -> torch.Tensor:
        """Log-mel ``(B, 2, n_mels, frames)`` -> waveform ``(B, 2, samples)`` with ``decoder``
        (default: the codec's). Deterministic: Griffin-Lim's random start is seeded."""
        decoder = self.decoder if decoder is None else self.check_decoder(decoder)
        self.mel.to(log_mel.device)
        if decoder == "griffin-lim":
            return griffin_lim(log_mel, self.mel, n_iter=GRIFFIN_LIM_ITERATIONS, length=samples)
        if decoder == "vocoder":
            return self.vocoder(log_mel.to(self.vocoder.device, self.vocoder.dtype),
                                length=samples).float()
        batch, channels, n_mels, frames = log_mel.shape
        mono = log_mel.reshape(batch * channels, n_mels, frames)
        magnitude = self.mel.mel_to_magnitude(mono.float(), refine=HYBRID_REFINE)
        return phase_retrieval(magnitude.reshape(batch, channels, -1, frames), self.mel,
                               n_iter=HYBRID_ITERATIONS, length=samples)

    def decode(self, latents: torch.Tensor, samples: int, decoder: str | None = None
               ) -> torch.Tensor:
        """Scaled latents -> waveform ``(B, 2, samples)``."""
        return self.vocode(self.decode_mel(latents, samples), samples, decoder)

    def reconstruct(self, wav: torch.Tensor, decoder: str | None = None) -> torch.Tensor:
        """The full round trip: encode then decode, same length."""
        return self.decode(self.encode(wav), wav.shape[-1], decoder)
