"""The stereo log-mel front end and its Griffin-Lim inverse. No learned parameters.

The mel spectrogram is the representation every model here works in: the VAE encodes it, the
vocoder inverts it. Each channel is analysed independently, so a stereo batch ``(B, 2, samples)``
becomes ``(B, 2, n_mels, frames)``.

Griffin-Lim is the baseline vocoder: any learned vocoder must beat it on the same mels.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from tqdm.auto import tqdm


@dataclass(frozen=True)
class MelConfig:
    """Parameters of the log-mel analysis; one value shared by data, models and vocoders."""

    sample_rate: int = 44_100  # Hz; the package-wide rate
    n_fft: int = 2048  # FFT and Hann window size in samples (46 ms at 44.1 kHz)
    hop_length: int = 512  # frame step in samples (11.6 ms, ~86 frames/s)
    n_mels: int = 128  # mel bands (Slaney scale and area normalisation, as librosa)
    f_min: float = 0.0  # Hz, lower edge of the lowest band
    f_max: float = 22_050.0  # Hz, upper edge of the highest band (Nyquist at 44.1 kHz)
    log_floor: float = 1e-5  # magnitude floor before the natural log: -100 dB, ln = -11.5

    def __post_init__(self) -> None:
        if not 0 < self.hop_length <= self.n_fft:
            raise ValueError(f"need 0 < hop_length <= n_fft, got {self.hop_length}, {self.n_fft}")
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= f_min < f_max <= sample_rate/2, got {self.f_min}, "
                             f"{self.f_max}")

    @property
    def n_freqs(self) -> int:
        """Linear-frequency bins of the STFT."""
        return self.n_fft // 2 + 1

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length

    @property
    def log_floor_value(self) -> float:
        """The log-mel value of silence."""
        return math.log(self.log_floor)

    def num_frames(self, samples: int) -> int:
        """Frames of a ``samples``-long signal (centred frames, one per hop plus one)."""
        return samples // self.hop_length + 1

    def num_samples(self, frames: int) -> int:
        """Samples an inverse produces from ``frames`` frames when no length is given."""
        return (frames - 1) * self.hop_length

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> MelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown mel config keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> MelConfig:
        with open(path) as handle:
            return cls.from_dict(json.load(handle))


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear to 1 kHz, logarithmic above (librosa's default)."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)),
                    (200.0 / 3) * mel)


def mel_filterbank(config: MelConfig) -> np.ndarray:
    """Triangular Slaney-scale filters with area normalisation, ``(n_mels, n_freqs)`` float32:
    ``librosa.filters.mel``'s defaults, to float precision (a test holds them equal). Written
    out because importing librosa.filters pulls in numba, 0.7 s of every command's start."""
    c = config
    frequencies = np.linspace(0.0, c.sample_rate / 2, c.n_freqs)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(c.f_min), _hz_to_mel(c.f_max), c.n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - frequencies[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


class MelSpectrogram(torch.nn.Module):
    """Waveform ``(B, C, samples)`` -> natural-log magnitude mel ``(B, C, n_mels, frames)``.

    Frames are centred (the signal is zero-padded by ``n_fft // 2`` at both ends), so any length
    of one sample or more works and ``frames = samples // hop_length + 1``. Zero rather than
    reflect padding keeps that true for clips shorter than half a window.
    """

    def __init__(self, config: MelConfig | None = None) -> None:
        super().__init__()
        self.config = config or MelConfig()
        c = self.config
        basis = mel_filterbank(c)  # (n_mels, n_freqs)
        self.register_buffer("window", torch.hann_window(c.n_fft), persistent=False)
        self.register_buffer("mel_basis", torch.from_numpy(basis), persistent=False)
        # Least-squares inverse of the filterbank, for mel -> linear magnitude (Griffin-Lim).
        self.register_buffer("mel_inverse", torch.linalg.pinv(self.mel_basis), persistent=False)
        self._envelopes: dict[int, torch.Tensor] = {}  # istft's overlap-add norm, by frames

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        """``(N, samples)`` -> complex ``(N, n_freqs, frames)``."""
        c = self.config
        return torch.stft(wav, c.n_fft, c.hop_length, window=self.window, center=True,
                          pad_mode="constant", return_complex=True)

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """Complex ``(N, n_freqs, frames)`` -> ``(N, length)``, the inverse of :meth:`stft`.

        Weighted overlap-add, as ``torch.istft`` computes it, with the window-squared envelope
        cached per frame count: ``torch.istft`` rebuilds and checks it on every call, which is
        half its time inside Griffin-Lim's loop.
        """
        c = self.config
        frames = spec.shape[-1]
        pieces = torch.fft.irfft(spec.transpose(1, 2), n=c.n_fft) * self.window  # (N, T, n_fft)
        total = (frames - 1) * c.hop_length + c.n_fft
        overlap = _overlap_add(pieces, c.hop_length)[:, :total]
        start = c.n_fft // 2  # centred frames: drop the analysis padding
        wav = overlap[:, start:start + length] / self._envelope(frames, total)[start:start + length]
        if wav.shape[-1] < length:  # asked for more than the frames cover: zeros, as torch pads
            wav = torch.nn.functional.pad(wav, (0, length - wav.shape[-1]))
        return wav

    def _envelope(self, frames: int, total: int) -> torch.Tensor:
        """Sum of the squared windows at each output sample (tiny values floored)."""
        cached = self._envelopes.get(frames)
        if cached is None or cached.device != self.window.device:
            squares = (self.window ** 2).expand(1, frames, -1)
            cached = _overlap_add(squares, self.config.hop_length)[0, :total].clamp_min(1e-11)
            self._envelopes = {frames: cached}  # one length at a time: a decode's, reused
        return cached

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        if wav.ndim != 3:
            raise ValueError(f"expected (batch, channels, samples), got {tuple(wav.shape)}")
        batch, channels, samples = wav.shape
        magnitude = self.stft(wav.reshape(batch * channels, samples).float()).abs()
        mel = self.mel_basis @ magnitude  # (B*C, n_mels, frames)
        log_mel = torch.log(mel.clamp_min(self.config.log_floor))
        return log_mel.reshape(batch, channels, self.config.n_mels, -1)

    def mel_to_magnitude(self, log_mel: torch.Tensor, refine: int = 0) -> torch.Tensor:
        """Log-mel ``(N, n_mels, frames)`` -> linear magnitude ``(N, n_freqs, frames)``, >= 0.

        The filterbank's pseudo-inverse, clipped at zero; with ``refine`` > 0, that many
        multiplicative updates toward the non-negative least-squares solution of
        ``mel_basis @ S = mel`` (Lee & Seung 2001, the NMF update with the basis held fixed),
        which puts back the energy that clipping the negative lobes took away.
        """
        mel = log_mel.exp()
        magnitude = (self.mel_inverse @ mel).clamp_min(0.0)
        if refine > 0:
            magnitude = magnitude.clamp_min(1e-8)  # a zero would stay zero under the update
            numerator = self.mel_basis.T @ mel
            for _ in range(refine):
                magnitude = magnitude * numerator / (
                    self.mel_basis.T @ (self.mel_basis @ magnitude) + 1e-12)
        return magnitude


def _overlap_add(pieces: torch.Tensor, hop: int) -> torch.Tensor:
    """``(N, frames, size)`` -> ``(N, (frames - 1) * hop + size)``, frame t added at t * hop.

    When hop divides size (the front end's 2048 / 512), each of the size / hop slices of every
    frame tiles the output without gaps, so a few strided adds do it: 20x faster on a CPU than
    ``torch.nn.functional.fold``, which the general case uses.
    """
    count, frames, size = pieces.shape
    if size % hop:
        return torch.nn.functional.fold(pieces.transpose(1, 2), (1, (frames - 1) * hop + size),
                                        (1, size), stride=(1, hop))[:, 0, 0]
    out = pieces.new_zeros(count, (frames - 1) * hop + size)
    for j in range(size // hop):
        out[:, j * hop:j * hop + frames * hop] += pieces[:, :, j * hop:(j + 1) * hop].reshape(
            count, frames * hop)
    return out


def griffin_lim(
    log_mel: torch.Tensor,
    mel: MelSpectrogram,
    *,
    n_iter: int = 64,
    momentum: float = 0.99,
    length: int | None = None,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Invert log-mel ``(B, C, n_mels, frames)`` to a waveform ``(B, C, samples)``.

    The mel is mapped to linear magnitude by the filterbank's pseudo-inverse, then
    :func:`phase_retrieval` finds a phase for it. ``length`` defaults to
    ``(frames - 1) * hop_length`` samples.
    """
    if log_mel.ndim != 4 or log_mel.shape[2] != mel.config.n_mels:
        raise ValueError(f"expected (batch, channels, {mel.config.n_mels}, frames), "
                         f"got {tuple(log_mel.shape)}")
    batch, channels, _, frames = log_mel.shape
    magnitude = mel.mel_to_magnitude(log_mel.reshape(batch * channels, -1, frames).float())
    return phase_retrieval(magnitude.reshape(batch, channels, -1, frames), mel, n_iter=n_iter,
                           momentum=momentum, length=length, generator=generator,
                           progress=progress)


def phase_retrieval(
    magnitude: torch.Tensor,
    mel: MelSpectrogram,
    *,
    n_iter: int = 64,
    momentum: float = 0.99,
    length: int | None = None,
    generator: torch.Generator | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """A waveform ``(B, C, samples)`` whose STFT magnitude approaches ``magnitude``
    ``(B, C, n_freqs, frames)`` (linear, the front end's STFT settings).

    The fast Griffin-Lim algorithm (Perraudin, Balazs & Sondergaard 2013, "A fast Griffin-Lim
    algorithm"): Griffin & Lim's (1984) alternating projections with momentum. Initial phases
    are uniform random from ``generator`` (when none is given, one seeded 0 per batch item:
    deterministic, and independent of the batch): a random start shares nothing with the frame
    grid, so the result carries no comb of tones at the hop rate, which a phase predicted frame
    by frame can.
    """
    if magnitude.ndim != 4 or magnitude.shape[2] != mel.config.n_freqs:
        raise ValueError(f"expected (batch, channels, {mel.config.n_freqs}, frames), "
                         f"got {tuple(magnitude.shape)}")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    batch, channels, _, frames = magnitude.shape
    length = mel.config.num_samples(frames) if length is None else length
    if mel.config.num_frames(length) != frames:
        raise ValueError(f"{frames} frames cannot come from {length} samples "
                         f"(that gives {mel.config.num_frames(length)})")
    # Without a generator, each item draws from its own seed-0 generator, so item i's output
    # does not depend on the batch it came in.
    generators = [generator] * batch if generator is not None else [
        torch.Generator(device=magnitude.device).manual_seed(0) for _ in range(batch)]
    phase = 2 * math.pi * torch.stack([
        torch.rand(magnitude.shape[1:], generator=g, device=magnitude.device)
        for g in generators])
    magnitude = magnitude.reshape(batch * channels, -1, frames).float()
    angles = torch.polar(torch.ones_like(magnitude), phase.reshape(magnitude.shape))
    previous = torch.zeros_like(angles)
    for _ in tqdm(range(n_iter), desc="griffin-lim", unit="iter", disable=not progress,
                  leave=False):
        rebuilt = mel.stft(mel.istft(angles.mul_(magnitude), length))
        # sgn(z) = z / |z| (0 at 0) in one pass: the projection onto unit-modulus phases.
        # In place where a buffer is free: these passes are a third of an iteration's time.
        angles = torch.sgn(previous.mul_(-momentum / (1 + momentum)).add_(rebuilt))
        previous = rebuilt
    wav = mel.istft(angles.mul_(magnitude), length)
    return wav.reshape(batch, channels, length)
