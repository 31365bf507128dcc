"""Two token streams for songs: the band and the voice.

Words need nearly every level of the mix's codes (``benchmarks/song_levels.py``: Whisper's WER
through 1, 2, 4 and 8 true levels of the mix is 1.00, 1.00, 1.03 and 0.86), but the voice alone,
coded by codebooks learned on voices (``latentaudio train tokens --stem vocals``), keeps them in
its first levels: 0.80, 0.64, 0.47 and 0.34. So a song is two streams per frame, as in
dual-track song models (e.g. SongGen's, Liu et al. 2025): the **band** (everything but the
voice: the mix minus the vocal stem), first level of the mix's codebooks, whose other levels the
fine model fills; and the **voice**, the first ``vocal_levels`` levels of the vocal codebooks,
all predicted by the coarse model. A clip without a vocal stem is all band, its voice the
codes of silence.

At generation each stream is decoded to log-mel by the VAE and the two are summed as
magnitudes (``logaddexp``), then vocoded once: one vocoder pass, as for a single stream.

Shapes: track codes ``(1 + vocal_levels, frames)`` int64, row 0 the band.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from latentaudio.data.manifest import Clip
from latentaudio.errors import LatentAudioError

VOCAL_STEM = "vocals"


def stems_audio(clip: Clip, root: Path) -> torch.Tensor:
    """The clip's audio ``(2, samples)``, or with a vocal stem the band and the voice stacked,
    ``(4, samples)`` (band = mix - voice: the songs source writes both at the mix's gain)."""
    from latentaudio.audio import load_audio

    mix = torch.from_numpy(load_audio(clip.resolve(root)))
    stem = clip.stem(VOCAL_STEM)
    if stem is None:
        return mix
    voice = torch.from_numpy(load_audio(stem.resolve(root)))
    length = min(mix.shape[1], voice.shape[1])
    return torch.cat([mix[:, :length] - voice[:, :length], voice[:, :length]])


class TrackCoder:
    """Audio (and its vocal stem) -> track codes, with the codec and both codebooks."""

    def __init__(self, codec, band_tokens, vocal_tokens, vocal_levels: int) -> None:
        if not 1 <= vocal_levels <= vocal_tokens.config.levels:
            raise LatentAudioError(f"--vocal-levels must be 1..{vocal_tokens.config.levels} "
                                   f"(the voice codebooks' levels), got {vocal_levels}")
        self.codec, self.band, self.vocal = codec, band_tokens, vocal_tokens
        self.vocal_levels = vocal_levels
        self._silence: torch.Tensor | None = None

    def silence(self) -> torch.Tensor:
        """The voice's codes of one silent frame ``(vocal_levels,)``."""
        if self._silence is None:
            quiet = torch.zeros(1, 2, 8 * 2048)
            codes = self.vocal.encode(self.codec.encode(quiet), self.vocal_levels)
            self._silence = codes[0, :, codes.shape[-1] // 2]
        return self._silence

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> torch.Tensor:
        """:func:`stems_audio`'s ``(2 or 4, samples)`` -> track codes ``(1 + V, frames)``."""
        band = self.band.encode(self.codec.encode(audio[None, :2]), 1)[0]
        if audio.shape[0] == 4:
            voice = self.vocal.encode(self.codec.encode(audio[None, 2:]), self.vocal_levels)[0]
        else:
            voice = self.silence()[:, None].expand(-1, band.shape[-1])
        return torch.cat([band, voice])


def track_cache(codec_folder: str | os.PathLike, tokens_folder: str | os.PathLike,
                vocal_tokens_folder: str | os.PathLike, vocal_levels: int,
                directory: str | os.PathLike):
    """Whole-clip track codes, cached in ``directory`` under a name tied to the VAE and both
    codebooks (:class:`~latentaudio.data.dataset.FeatureCache`)."""
    from latentaudio.codec import LatentCodec, component_folder, load_component
    from latentaudio.data.dataset import FeatureCache
    from latentaudio.tokens.rvq import ResidualVQ

    codec = LatentCodec.from_pretrained(codec_folder, griffin_lim_only=True)
    band_source = component_folder(tokens_folder)
    vocal_source = component_folder(vocal_tokens_folder)
    coder = TrackCoder(codec, load_component(ResidualVQ, band_source),
                       load_component(ResidualVQ, vocal_source), vocal_levels)
    weights = [path for folder in (Path(codec_folder) / "vae", band_source, vocal_source)
               for path in sorted(folder.glob("*.safetensors"))]
    digest = hashlib.sha1(b"".join(p.read_bytes() for p in weights)).hexdigest()[:12]
    return FeatureCache(coder, codec.vae.latent_rate, Path(directory),
                        f"tracks-{vocal_levels}-{digest}", load=stems_audio)
