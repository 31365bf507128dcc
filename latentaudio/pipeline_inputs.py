"""What ``LatentAudioPipeline.__call__`` is given, checked: the duration (``seconds`` or
StableAudioPipeline's start/end), per-prompt lists, reference recordings and generators; each
wrong value a one-line :class:`~latentaudio.errors.LatentAudioError`."""

from __future__ import annotations

import numpy as np
import torch

from latentaudio.errors import LatentAudioError
from latentaudio.limits import GENERATE_SECONDS, check_seconds


def generators_for(generator, seeds, count: int) -> list[torch.Generator]:
    """One generator per output: from ``seeds``, a list of one per output, or a single one
    (default: seed 0) shared by all."""
    if seeds is not None:
        if len(seeds) != count:
            raise LatentAudioError(f"{len(seeds)} seeds for {count} outputs")
        return [torch.Generator().manual_seed(int(s)) for s in seeds]
    if isinstance(generator, list):
        if len(generator) != count:
            raise LatentAudioError(f"{len(generator)} generators for {count} outputs: "
                                   "pass one per output, or a single one")
        return generator
    return [generator or torch.Generator().manual_seed(0)] * count


def check_duration(seconds: float | None, start: float, end: float | None) -> float | None:
    """``seconds``, or StableAudioPipeline's ``audio_end_in_s - audio_start_in_s``."""
    if start is None or not 0.0 <= start:
        raise LatentAudioError(f"audio_start_in_s must be 0 or more, got {start}")
    if end is not None:
        if not end > start:
            raise LatentAudioError(f"audio_end_in_s ({end:g}) must be after audio_start_in_s "
                                   f"({start:g})")
        if seconds is not None and abs(seconds - (end - start)) > 1e-6:
            raise LatentAudioError("seconds and audio_end_in_s - audio_start_in_s disagree: "
                                   "give one of them")
        seconds = end - start
    return check_seconds(seconds, GENERATE_SECONDS)


def per_prompt(value: str | list[str], count: int, name: str) -> list[str]:
    items = [value] * count if isinstance(value, str) else list(value)
    if len(items) != count:
        raise LatentAudioError(f"{len(items)} {name} for {count} prompts")
    return items


def check_references(value, count: int, name: str) -> list[np.ndarray] | None:
    """None, one reference for all ``count`` items, or one each -> a list, else a clear error."""
    if value is None:
        return None
    items = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(items) != count:
        raise LatentAudioError(f"{len(items)} {name} references for {count} prompts")
    for item in items:
        if not isinstance(item, np.ndarray) or item.ndim not in (1, 2) or item.shape[-1] == 0:
            raise LatentAudioError(f"the {name} reference must be non-empty audio, "
                                   "(channels, samples) at 44.1 kHz")
        if not np.isfinite(item).all():
            raise LatentAudioError(f"the {name} reference holds NaN or infinite samples")
    return items


def fit_initial_audio(waveforms, sampling_rate: int | None, prompts: int, samples: int,
                      strength: float, sample_rate: int) -> torch.Tensor | None:
    """StableAudioPipeline's ``initial_audio_waveforms`` (``(prompts, channels, samples)`` or
    ``(prompts, samples)``), checked, made stereo and cropped or zero-padded to ``samples``."""
    if waveforms is None:
        return None
    if sampling_rate != sample_rate:
        raise LatentAudioError(f"initial_audio_sampling_rate must be {sample_rate} "
                               f"(resample the audio first), got {sampling_rate}")
    if not 0.0 <= strength <= 1.0:
        raise LatentAudioError(f"strength must be between 0 and 1, got {strength:g}")
    audio = torch.as_tensor(waveforms, dtype=torch.float32)
    audio = audio[:, None] if audio.ndim == 2 else audio
    if audio.ndim != 3 or audio.shape[0] != prompts or audio.shape[1] not in (1, 2):
        raise LatentAudioError("initial_audio_waveforms must be (prompts, channels, samples) "
                               f"or (prompts, samples) with 1 or 2 channels, got "
                               f"{tuple(audio.shape)}")
    if not torch.isfinite(audio).all():
        raise LatentAudioError("initial_audio_waveforms holds NaN or infinite samples")
    audio = audio.expand(-1, 2, -1) if audio.shape[1] == 1 else audio
    fitted = audio.new_zeros(audio.shape[0], 2, samples)
    fitted[..., : min(samples, audio.shape[-1])] = audio[..., :samples]
    return fitted
