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
    # Reference conditioning (latentaudio.conditioning.reference); all-zero rows mean "none".
    melody: torch.Tensor | None = None  # (B, 12, frames) one-hot pitch class per latent frame
    style: torch.Tensor | None = None  # (B, 512) reference-clip embedding

    def __len__(self) -> int:
        return self.text_states.shape[0]

    def null_like(self) -> Conditioning:
        """The unconditional branch of classifier-free guidance (Ho & Salimans 2022): no text,
        unknown tempo and key, no melody or style; the requested timing stays, since it is not
        a style to amplify."""
        unknown_key = torch.full_like(self.globals.key, KEY_CLASSES)
        unknown_bpm = torch.full_like(self.globals.bpm, float("nan"))
        return Conditioning(torch.zeros_like(self.text_states),
                            torch.ones_like(self.text_mask), torch.zeros_like(self.pooled),
                            replace(self.globals, bpm=unknown_bpm, key=unknown_key),
                            _zeros(self.melody), _zeros(self.style))

    def without_text(self) -> Conditioning:
        """No words, tempo or key, but the same melody and style: "sounds like this clip"."""
        null = self.null_like()
        return replace(null, melody=self.melody, style=self.style)

    def with_music(self, tempo: torch.Tensor | bool = True,
                   key: torch.Tensor | bool = True) -> Conditioning:
        """This conditioning with the tempo and key kept where ``tempo`` / ``key`` ((B,) bool,
        or one bool for all) is True and made unknown elsewhere: the per-group dropout that lets
        each have its own guidance scale, and the partial branches of that guidance."""
        g = self.globals
        tempo = torch.as_tensor(tempo, device=g.bpm.device)
        key = torch.as_tensor(key, device=g.key.device)
        return replace(self, globals=replace(
            g, bpm=torch.where(tempo, g.bpm, torch.full_like(g.bpm, float("nan"))),
            key=torch.where(key, g.key, torch.full_like(g.key, KEY_CLASSES))))

    def drop(self, keep: torch.Tensor) -> Conditioning:
        """Per item, keep this conditioning where ``keep`` (B,) is True, else its null: the
        conditioning dropout that trains the unconditional branch."""
        return self.where(keep, self.null_like())

    def select(self, items: list[int]) -> Conditioning:
        """The conditioning of just these batch items, in this order."""
        index = torch.tensor(items, dtype=torch.long, device=self.text_states.device)

        def pick(value):
            return None if value is None else value[index]

        g = self.globals
        return Conditioning(pick(self.text_states), pick(self.text_mask), pick(self.pooled),
                            GlobalInputs(pick(g.seconds_start), pick(g.seconds_total),
                                         pick(g.bpm), pick(g.key)),
                            pick(self.melody), pick(self.style))

    def where(self, keep: torch.Tensor, other: Conditioning) -> Conditioning:
        """Per item, this conditioning where ``keep`` (B,) is True, else ``other``'s."""
        def pick(a, b):
            if a is None:
                return None
            return torch.where(keep.view(-1, *[1] * (a.ndim - 1)), a, b)

        return Conditioning(pick(self.text_states, other.text_states),
                            pick(self.text_mask, other.text_mask),
                            pick(self.pooled, other.pooled),
                            GlobalInputs(self.globals.seconds_start, self.globals.seconds_total,
                                         pick(self.globals.bpm, other.globals.bpm),
                                         pick(self.globals.key, other.globals.key)),
                            pick(self.melody, other.melody), pick(self.style, other.style))

    @staticmethod
    def cat(items: list[Conditioning]) -> Conditioning:
        def join(name):
            return torch.cat([getattr(item.globals, name) for item in items])

        def join_optional(name):
            values = [getattr(item, name) for item in items]
            if all(v is None for v in values):
                return None
            if any(v is None for v in values):
                raise ValueError(f"cannot join conditionings with and without {name}")
            return torch.cat(values)

        return Conditioning(torch.cat([i.text_states for i in items]),
                            torch.cat([i.text_mask for i in items]),
                            torch.cat([i.pooled for i in items]),
                            GlobalInputs(join("seconds_start"), join("seconds_total"),
                                         join("bpm"), join("key")),
                            join_optional("melody"), join_optional("style"))


def encode_specs(tokenizer, text_encoder, specs, seconds_start: float = 0.0) -> Conditioning:
    """Parsed prompts (:class:`~latentaudio.conditioning.prompt.PromptSpec`) -> their
    conditioning: caption states through the tokenizer and encoder, timing, bpm and key."""
    from latentaudio.conditioning.text import encode_texts

    text = encode_texts(tokenizer, text_encoder, [s.caption for s in specs])
    return from_text_states(text.states, text.mask, specs, seconds_start)


def from_text_states(states: torch.Tensor, mask: torch.Tensor | None, specs,
                     seconds_start: float = 0.0) -> Conditioning:
    """The conditioning for text encoder states ``(B, tokens, dim)`` (``mask`` (B, tokens), None:
    all real) and the parsed prompts' timing, bpm and key, on the states' device. The pooled
    vector is the masked mean, unit norm, as :func:`~latentaudio.conditioning.text.encode_texts`
    makes it, so precomputed states give the same result as the words."""
    import math

    from latentaudio.conditioning.embedders import key_index

    device = states.device
    mask = (torch.ones(states.shape[:2], dtype=torch.bool, device=device) if mask is None
            else mask.to(device).bool())
    pooled = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
    return Conditioning(states, mask, torch.nn.functional.normalize(pooled, dim=-1),
                        GlobalInputs(
        seconds_start=torch.full((len(specs),), float(seconds_start), device=device),
        seconds_total=torch.tensor([s.seconds for s in specs], dtype=torch.float32,
                                   device=device),
        bpm=torch.tensor([s.bpm if s.bpm is not None else math.nan for s in specs],
                         dtype=torch.float32, device=device),
        key=torch.tensor([key_index(s.key) for s in specs], dtype=torch.long, device=device)))


def _zeros(value: torch.Tensor | None) -> torch.Tensor | None:
    return None if value is None else torch.zeros_like(value)
