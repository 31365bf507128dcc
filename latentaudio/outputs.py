"""What the pipelines return: a diffusers ``BaseOutput``, shared by both backends (a leaf module,
so that neither pipeline imports the other)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers.utils import BaseOutput


@dataclass
class GenerationOutput(BaseOutput):
    """``audios``: ``(B, 2, samples)`` mastered float32 audio (a numpy array for ``output_type
    "np"``, a tensor for ``"pt"``), or the final latents for ``"latent"``. As in diffusers,
    ``output[0]`` is ``audios``. The rest says how each clip was made."""

    audios: np.ndarray | torch.Tensor
    sample_rate: int | None = None
    specs: list[Any] | None = None  # PromptSpec: what each prompt was parsed into
    seeds: list[int | None] | None = None  # the seed each clip was made from (after redraws)
    mastering: list[Any] | None = None  # MasteringReport per clip
    silent_redraws: list[int] | None = None  # how often each item was drawn again for silence
    # Songs with lyrics, per item: which words each span was given to sing (start and end in
    # seconds, section, words), in order.
    lyrics_schedule: list[list[dict]] | None = None

    def to_tuple(self) -> tuple:
        """``(audios,)``: what ``return_dict=False`` returns, as diffusers' audio pipelines do."""
        return (self.audios,)
