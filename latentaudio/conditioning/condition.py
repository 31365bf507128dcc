"""The one value that carries all conditioning through the denoiser, and its null for CFG."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from latentaudio.conditioning.embedders import KEY_CLASSES, GlobalInputs


@dataclass
class Conditioning:
    text_states: torch.Tensor  # (B, tokens, text_dim)
    text_mask: torch.Tensor  # (B, tokens) bool
    pooled: torch.Tensor  # (B, text_dim)
    globals: GlobalInputs

    def __len__(self) -> int:
        return self.text_states.shape[0]

    def null_like(self) -> Conditioning:
        """The unconditional branch of classifier-free guidance (Ho & Salimans 2022): no text,
        unknown tempo and key; the requested timing stays, since it is not a style to amplify."""
        unknown_key = torch.full_like(self.globals.key, KEY_CLASSES)
        unknown_bpm = torch.full_like(self.globals.bpm, float("nan"))
        return Conditioning(torch.zeros_like(self.text_states),
                            torch.ones_like(self.text_mask), torch.zeros_like(self.pooled),
                            replace(self.globals, bpm=unknown_bpm, key=unknown_key))

    def drop(self, keep: torch.Tensor) -> Conditioning:
        """Per item, keep this conditioning where ``keep`` (B,) is True, else its null: the
        conditioning dropout that trains the unconditional branch."""
        null = self.null_like()

        def pick(a, b):
            return torch.where(keep.view(-1, *[1] * (a.ndim - 1)), a, b)

        return Conditioning(pick(self.text_states, null.text_states),
                            pick(self.text_mask, null.text_mask), pick(self.pooled, null.pooled),
                            GlobalInputs(self.globals.seconds_start, self.globals.seconds_total,
                                         pick(self.globals.bpm, null.globals.bpm),
                                         pick(self.globals.key, null.globals.key)))

    @staticmethod
    def cat(items: list[Conditioning]) -> Conditioning:
        def join(name):
            return torch.cat([getattr(item.globals, name) for item in items])

        return Conditioning(torch.cat([i.text_states for i in items]),
                            torch.cat([i.text_mask for i in items]),
                            torch.cat([i.pooled for i in items]),
                            GlobalInputs(join("seconds_start"), join("seconds_total"),
                                         join("bpm"), join("key")))
