"""The training dataset: fixed-length crops of clips, with Stable Audio's timing labels.

Each item is a crop of ``seconds`` from one clip, zero-padded when the clip is shorter, with a
mask that marks the real audio, ``seconds_start`` (where the crop starts in the clip) and
``seconds_total`` (the clip's length), as Stable Audio conditions on them. With a
:class:`FeatureCache`, items are crops of a precomputed feature (a mel or VAE latents) instead of
audio, computed once per clip and kept on disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import Dataset

from latentaudio.audio import SAMPLE_RATE, load_audio
from latentaudio.data.manifest import Clip


@dataclass
class FeatureCache:
    """Features of whole clips, computed by ``transform`` and cached as safetensors files.

    ``transform`` maps audio ``(2, samples)`` to ``(..., frames)`` at ``frames_per_second``,
    or, with ``per_clip``, to one value for the whole clip (never cropped); ``name`` identifies
    the transform (change it when the transform changes). Each file records the size and
    modification time of the audio it came from, so a corpus rebuilt at the same path is
    computed again rather than read stale.
    """

    transform: Callable[[torch.Tensor], torch.Tensor]
    frames_per_second: float
    directory: Path
    name: str
    per_clip: bool = False
    # Another cache these features can be computed from without the audio (codec tokens from
    # cached VAE latents), and how: used where it already holds the clip.
    derived_from: tuple[FeatureCache, Callable[[torch.Tensor], torch.Tensor]] | None = None
    # What ``transform`` is given instead of the clip's audio (e.g. the audio and a stem).
    load: Callable[[Clip, Path], torch.Tensor] | None = None

    def _path(self, clip: Clip, root: Path) -> tuple[Path, str]:
        source = clip.resolve(root)
        key = hashlib.sha1(f"{self.name}:{source}".encode()).hexdigest()[:20]
        stat = source.stat()
        return (Path(self.directory) / f"{clip.id.replace('/', '_')}-{key}.safetensors",
                f"{stat.st_size}:{stat.st_mtime_ns}")

    def cached(self, clip: Clip, root: Path) -> torch.Tensor | None:
        """The clip's features if this cache holds them for the audio as it is now, else None."""
        path, stamp = self._path(clip, root)
        if path.is_file():
            with safe_open(path, "pt") as cached:
                if (cached.metadata() or {}).get("source") == stamp:
                    return cached.get_tensor("features")
        return None

    def get(self, clip: Clip, root: Path) -> torch.Tensor:
        found = self.cached(clip, root)
        if found is not None:
            return found
        path, stamp = self._path(clip, root)
        base = None if self.derived_from is None else self.derived_from[0].cached(clip, root)
        with torch.no_grad():
            if base is not None:
                features = self.derived_from[1](base).contiguous()
            else:
                audio = (self.load(clip, root) if self.load is not None
                         else torch.from_numpy(load_audio(clip.resolve(root))))
                features = self.transform(audio)
                features = features.contiguous()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        save_file({"features": features}, str(tmp), metadata={"source": stamp})
        os.replace(tmp, path)
        return features


def latent_cache(codec_folder: str | os.PathLike, directory: str | os.PathLike) -> FeatureCache:
    """Whole-clip scaled latents of the VAE in ``codec_folder/vae``, cached in ``directory``
    under a name tied to the VAE's weights (a retrained VAE never reuses stale latents)."""
    from latentaudio.codec import LatentCodec

    codec = LatentCodec.from_pretrained(codec_folder, griffin_lim_only=True)
    weights = sorted((Path(codec_folder) / "vae").glob("*.safetensors"))
    digest = hashlib.sha1(b"".join(p.read_bytes() for p in weights)).hexdigest()[:12]
    return FeatureCache(lambda audio: codec.encode(audio[None])[0], codec.vae.latent_rate,
                        Path(directory), f"vae-{digest}")


def token_cache(codec_folder: str | os.PathLike, tokens_folder: str | os.PathLike,
                directory: str | os.PathLike,
                latents: str | os.PathLike | None = None) -> FeatureCache:
    """Whole-clip codec tokens ``(levels, frames)`` int64: the VAE latents of ``codec_folder``
    quantised by the residual VQ in ``tokens_folder``; cached under a name tied to both. With
    ``latents`` (a :func:`latent_cache` folder, e.g. a diffusion run's ``latents-cache``), the
    clips it holds for this VAE are quantised from there instead of encoded again."""
    from latentaudio.codec import LatentCodec, component_folder, load_component
    from latentaudio.tokens import ResidualVQ

    codec = LatentCodec.from_pretrained(codec_folder, griffin_lim_only=True)
    source = component_folder(tokens_folder)
    rvq = load_component(ResidualVQ, source)
    weights = sorted((Path(codec_folder) / "vae").glob("*.safetensors")) + sorted(
        source.glob("*.safetensors"))
    digest = hashlib.sha1(b"".join(p.read_bytes() for p in weights)).hexdigest()[:12]
    derived = None
    if latents is not None:
        derived = (latent_cache(codec_folder, latents), lambda z: rvq.encode(z[None])[0])
    return FeatureCache(lambda audio: rvq.encode(codec.encode(audio[None]))[0],
                        codec.vae.latent_rate, Path(directory), f"tokens-{digest}",
                        derived_from=derived)


def melody_cache(samples_per_frame: int, directory: str | os.PathLike) -> FeatureCache:
    """Whole-clip melody chroma at the latent rate (one frame per ``samples_per_frame``)."""
    from latentaudio.conditioning.reference import melody_chroma

    return FeatureCache(lambda audio: melody_chroma(audio.numpy(), SAMPLE_RATE,
                                                    samples_per_frame),
                        SAMPLE_RATE / samples_per_frame, Path(directory),
                        f"melody-chroma-{samples_per_frame}")


def style_cache(directory: str | os.PathLike) -> FeatureCache:
    """One reference-clip style vector per clip (the name matches latentaudio-CLAP's cache of
    the same aisfx embeddings, so either can reuse the other's files)."""
    from latentaudio.conditioning.reference import StyleEmbedder

    embedder = None

    def embed(audio: torch.Tensor) -> torch.Tensor:
        nonlocal embedder
        embedder = embedder or StyleEmbedder()
        return embedder(audio.numpy())

    return FeatureCache(embed, 1.0, Path(directory), "aisfx-30s", per_clip=True)


class ClipDataset(Dataset):
    """Crops of ``seconds`` from ``clips``; see the module docstring for what an item holds.

    Items are dicts: ``audio`` ``(2, samples)`` (or ``features`` ``(..., frames)`` with a cache),
    ``mask`` ``(samples,)`` / ``(frames,)`` bool, ``caption``, ``seconds_start``,
    ``seconds_total``, and ``bpm``/``key`` strings-or-NaN for music labels, with
    ``beat_offset`` (seconds to the clip's first beat; 0 when unknown).
    ``random_crop`` picks crop positions from a generator seeded by ``(seed, epoch, index)``
    (call :meth:`set_epoch`), else crops start at 0. ``gain_db`` draws a random gain in that
    range (dB) per item, for level augmentation. Each of ``extras`` adds an item entry under
    its name: a per-clip value, or frames cropped at the same times as the features.
    ``lyric_ids`` > 0 adds ``lyrics``: the id track (:mod:`latentaudio.tokens.lyrics`) of the
    words sung inside the crop (songs' manifests time every word), padded to that length.
    ``sung`` adds ``sung``: the phoneme sung at each feature frame of the crop (0: none;
    :func:`latentaudio.tokens.lyrics.sung_frames`).
    """

    def __init__(self, clips: list[Clip], root: str | os.PathLike, *, seconds: float = 4.0,
                 random_crop: bool = True, gain_db: tuple[float, float] | None = None,
                 features: FeatureCache | None = None,
                 extras: dict[str, FeatureCache] | None = None, lyric_ids: int = 0,
                 sung: bool = False, seed: int = 0) -> None:
        if seconds <= 0:
            raise ValueError(f"seconds must be positive, got {seconds}")
        self.clips = list(clips)
        self.root = Path(root)
        self.seconds = seconds
        self.random_crop = random_crop
        self.gain_db = gain_db
        self.features = features
        self.extras = dict(extras or {})
        self.lyric_ids = lyric_ids
        if sung and features is None:
            raise ValueError("the sung track is per feature frame: it needs a feature cache")
        self.sung = sung
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def _start(self, index: int, total_seconds: float) -> float:
        spare = max(0.0, total_seconds - self.seconds)
        if not self.random_crop or spare == 0:
            return 0.0
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return float(rng.uniform(0, spare))

    def __getitem__(self, index: int) -> dict:
        return self.item_at(index, self._start(index, self.clips[index].seconds))

    def item_at(self, index: int, start: float) -> dict:
        """Clip ``index``'s crop from ``start`` seconds (what :meth:`__getitem__` gives for the
        start it draws; the GPU pack of the coarse model takes chosen ones)."""
        clip = self.clips[index]
        item = {"caption": clip.caption, "seconds_start": start,
                "seconds_total": float(clip.seconds),
                "bpm": float(clip.bpm) if clip.bpm is not None else float("nan"),
                "beat_offset": float(clip.beat_offset or 0.0),
                "key": clip.key or ""}
        if self.features is not None:
            values, mask = self._crop(self.features, clip, start)
            item["features"], item["mask"] = values, mask
        else:
            length = round(self.seconds * SAMPLE_RATE)
            audio = torch.from_numpy(load_audio(clip.resolve(self.root), offset_seconds=start,
                                                duration_seconds=self.seconds))[:, :length]
            item["audio"], item["mask"] = _pad(audio, length)
        if self.gain_db is not None and "audio" in item:  # features are not linear in gain
            rng = np.random.default_rng([self.seed, self.epoch, index, 1])
            item["audio"] = item["audio"] * 10 ** (float(rng.uniform(*self.gain_db)) / 20)
        if self.lyric_ids:
            item["lyrics"] = self._lyrics(clip, start)
        if self.sung:
            from latentaudio.tokens.lyrics import sung_frames

            fps = self.features.frames_per_second
            frames = item["features"].shape[-1]
            words = clip.extra.get("words") if clip.extra else None
            item["sung"] = (sung_frames(words, round(start * fps) / fps, frames, fps) if words
                            else torch.zeros(frames, dtype=torch.long))
        for name, cache in self.extras.items():
            item[name] = (cache.get(clip, self.root) if cache.per_clip
                          else self._crop(cache, clip, start)[0])
        return item

    def _lyrics(self, clip: Clip, start: float) -> torch.Tensor:
        from latentaudio.tokens.lyrics import encode_lyrics, fixed_length, words_between

        words = clip.extra.get("words") if clip.extra else None
        text = words_between(words, start, start + self.seconds) if words else ""
        ids = encode_lyrics(text) if text else torch.zeros(0, dtype=torch.long)
        return fixed_length(ids, self.lyric_ids)

    def _crop(self, cache: FeatureCache, clip: Clip,
              start: float) -> tuple[torch.Tensor, torch.Tensor]:
        features = cache.get(clip, self.root)
        fps = cache.frames_per_second
        length = round(self.seconds * fps)
        first = round(start * fps)
        return _pad(features[..., first: first + length], length)


def _pad(values: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad the last axis to ``length``; the mask is True over the real values."""
    real = min(values.shape[-1], length)
    mask = torch.zeros(length, dtype=torch.bool)
    mask[:real] = True
    if values.shape[-1] >= length:
        return values[..., :length], mask
    padded = values.new_zeros((*values.shape[:-1], length))
    padded[..., :real] = values
    return padded, mask
