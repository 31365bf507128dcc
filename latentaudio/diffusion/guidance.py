"""Classifier-free guidance (Ho & Salimans 2022). The only place the formula lives."""

from __future__ import annotations

from collections.abc import Callable

import torch

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import KEY_CLASSES

Denoise = Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]


def combine(conditional: torch.Tensor, unconditional: torch.Tensor, scale: float) -> torch.Tensor:
    """``unconditional + scale * (conditional - unconditional)``: for denoiser outputs here and
    for the token backend's logits alike."""
    return unconditional + scale * (conditional - unconditional)


def combine_nested(full: torch.Tensor, partial: torch.Tensor, unconditional: torch.Tensor,
                   scale: float, full_scale: float) -> torch.Tensor:
    """``unconditional + scale * (partial - unconditional) + full_scale * (full - partial)``:
    guidance with one conditioning group (the key, the tempo) on its own scale, ``partial``
    being the branch without it; for denoiser outputs and token logits alike."""
    return combine(partial, unconditional, scale) + full_scale * (full - partial)


# The tempo's and the key's own scales, as multiples of the main one, when none is given,
# measured on the corpus's test split (benchmarks/prompt_following.py --kind music, 35 music
# prompts). The key (session 9): key exact 0.257 -> 0.371 and MIREX 0.454 -> 0.560 at 7 against
# 4, class accuracy unchanged. The tempo (session 10, the DiT retrained with the grid on the
# beats): tempo acc1 0.286 -> 0.343 and acc2 0.400 -> 0.457 at 7 against 4, key unchanged, music
# class 0.278 -> 0.250 (one prompt). Equal, they share one denoiser row.
KEY_GUIDANCE_RATIO = 1.75
TEMPO_GUIDANCE_RATIO = 1.75


def default_key_scale(scale: float) -> float:
    """The key's own scale when none is given: ``KEY_GUIDANCE_RATIO`` x the main one, or none
    without guidance (scale 1)."""
    return scale * KEY_GUIDANCE_RATIO if scale != 1.0 else scale


def default_tempo_scale(scale: float) -> float:
    """The tempo's own scale when none is given: ``TEMPO_GUIDANCE_RATIO`` x the main one, or
    none without guidance (scale 1)."""
    return scale * TEMPO_GUIDANCE_RATIO if scale != 1.0 else scale


def music_scales(scale: float, tempo_scale: float | None, key_scale: float | None,
                 condition: Conditioning) -> tuple[float, float]:
    """The tempo's and key's scales as run. None: ``TEMPO_GUIDANCE_RATIO`` and
    ``KEY_GUIDANCE_RATIO`` times the main scale (none without guidance). A group no item asks
    for changes nothing whatever its scale, so it takes the value that needs fewest rows."""
    tempo_scale = default_tempo_scale(scale) if tempo_scale is None else tempo_scale
    key_scale = default_key_scale(scale) if key_scale is None else key_scale
    if not bool(torch.isfinite(condition.globals.bpm).any()):
        tempo_scale = scale  # e(words, tempo) = e(words)
    if not bool((condition.globals.key != KEY_CLASSES).any()):
        key_scale = tempo_scale  # e(words, tempo, key) = e(words, tempo)
    return tempo_scale, key_scale


def guided(denoise: Denoise, x: torch.Tensor, time: torch.Tensor, condition: Conditioning,
           negative: Conditioning, scale: float, tempo_scale: float | None = None,
           key_scale: float | None = None) -> torch.Tensor:
    """``negative + scale * (conditional - negative)``; ``negative`` is ``condition.null_like()``
    or a negative prompt's conditioning. Scale 1 runs the conditional branch alone.

    ``tempo_scale`` and ``key_scale`` give the tempo and the key their own scales
    (:func:`music_scales` for the defaults), as InstructPix2Pix (Brooks et al. 2023) gives its
    image and text theirs, over nested branches (the model is trained with each dropped apart,
    so it knows all four)::

        e(neg) + scale (e(words) - e(neg)) + tempo_scale (e(words, tempo) - e(words))
               + key_scale (e(words, tempo, key) - e(words, tempo))

    Equal scales telescope, and only the rows left are run: two when all three are equal,
    three when the tempo's is the main one or the key's is the tempo's, else four.
    """
    tempo_scale, key_scale = music_scales(scale, tempo_scale, key_scale, condition)
    if tempo_scale == key_scale == scale:
        if scale == 1.0:
            return denoise(x, time, condition)
        both = denoise(torch.cat([x, x]), torch.cat([time, time]),
                       Conditioning.cat([condition, negative]))
        conditional, unconditional = both.chunk(2)
        return combine(conditional, unconditional, scale)
    if tempo_scale == scale or key_scale == tempo_scale:
        # e(neg) + scale (e(middle) - e(neg)) + other (e(full) - e(middle)), where the middle
        # row is the words with the tempo (the key's own scale) or without it (both share one).
        middle = condition.with_music(tempo=tempo_scale == scale, key=False)
        other = key_scale if tempo_scale == scale else tempo_scale
        outputs = denoise(torch.cat([x] * 3), torch.cat([time] * 3),
                          Conditioning.cat([negative, middle, condition]))
        unconditional, partial, full = outputs.chunk(3)
        return combine_nested(full, partial, unconditional, scale, other)
    branches = [negative, condition.with_music(tempo=False, key=False),
                condition.with_music(tempo=True, key=False), condition]
    outputs = denoise(torch.cat([x] * 4), torch.cat([time] * 4), Conditioning.cat(branches))
    unconditional, words, tempo, full = outputs.chunk(4)
    return (unconditional + scale * (words - unconditional) + tempo_scale * (tempo - words)
            + key_scale * (full - tempo))
