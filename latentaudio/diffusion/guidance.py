"""Classifier-free guidance (Ho & Salimans 2022). The only place the formula lives."""

from __future__ import annotations

from collections.abc import Callable

import torch

from latentaudio.conditioning.condition import Conditioning

Denoise = Callable[[torch.Tensor, torch.Tensor, Conditioning], torch.Tensor]


def combine(conditional: torch.Tensor, unconditional: torch.Tensor, scale: float) -> torch.Tensor:
    """``unconditional + scale * (conditional - unconditional)``: for denoiser outputs here and
    for the token backend's logits alike."""
    return unconditional + scale * (conditional - unconditional)


def guided(denoise: Denoise, x: torch.Tensor, time: torch.Tensor, condition: Conditioning,
           negative: Conditioning, scale: float, tempo_scale: float | None = None,
           key_scale: float | None = None) -> torch.Tensor:
    """``negative + scale * (conditional - negative)``; ``negative`` is ``condition.null_like()``
    or a negative prompt's conditioning. Scale 1 runs the conditional branch alone.

    ``tempo_scale`` and ``key_scale`` (None: ``scale``) give the tempo and the key their own
    scales, as InstructPix2Pix (Brooks et al. 2023) gives its image and text theirs, over
    nested branches (the model is trained with each dropped apart, so it knows all four)::

        e(neg) + scale (e(words) - e(neg)) + tempo_scale (e(words, tempo) - e(words))
               + key_scale (e(words, tempo, key) - e(words, tempo))

    With both equal to ``scale`` the sum telescopes to the two-branch formula, which is run;
    with the tempo's alone equal to it, to three branches (no words-only row), which are run.
    """
    tempo_scale = scale if tempo_scale is None else tempo_scale
    key_scale = scale if key_scale is None else key_scale
    if tempo_scale == key_scale == scale:
        if scale == 1.0:
            return denoise(x, time, condition)
        both = denoise(torch.cat([x, x]), torch.cat([time, time]),
                       Conditioning.cat([condition, negative]))
        conditional, unconditional = both.chunk(2)
        return combine(conditional, unconditional, scale)
    if tempo_scale == scale:  # e(neg) + scale (e(words, tempo) - e(neg)) + key_scale (...)
        outputs = denoise(torch.cat([x] * 3), torch.cat([time] * 3), Conditioning.cat(
            [negative, condition.with_music(tempo=True, key=False), condition]))
        unconditional, tempo, full = outputs.chunk(3)
        return unconditional + scale * (tempo - unconditional) + key_scale * (full - tempo)
    branches = [negative, condition.with_music(tempo=False, key=False),
                condition.with_music(tempo=True, key=False), condition]
    outputs = denoise(torch.cat([x] * 4), torch.cat([time] * 4), Conditioning.cat(branches))
    unconditional, words, tempo, full = outputs.chunk(4)
    return (unconditional + scale * (words - unconditional) + tempo_scale * (tempo - words)
            + key_scale * (full - tempo))
