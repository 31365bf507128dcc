"""The token backend's coarse stage: a decoder-only transformer over first-level codec tokens.

nanoGPT's shape (Karpathy; pre-LayerNorm blocks, causal self-attention, GELU MLP, learned
positions) with a key/value cache for generation. The conditioning
is a prefix it reads before the tokens: the caption's MiniLM token states (projected), one global
token (pooled caption, timing, bpm, key: :class:`~latentaudio.conditioning.embedders.
GlobalEmbedder`, as the DiT uses) and the lyric track (phoneme and section-marker ids). Then a
begin token, then the codes.

With ``music_grid``, each position is also told the beat grid and key template
(:mod:`latentaudio.conditioning.grid`, as the DiT is) of the frame it predicts: the begin token
frame 0, code t frame t + 1, counted from the window's ``seconds_start`` in the piece, so the
beat continues across a song's windows. The path is zero-initialised (an older model warm-started
with it is unchanged until it trains), and it follows the tempo and key of the conditioning, so
guidance's null branch has no grid.

With ``sung_frames``, each position is also told the phoneme sung at the frame it predicts
(:attr:`LMInputs.sung`, from the words' times: :func:`~latentaudio.tokens.lyrics.sung_frames`),
as a singing synthesiser is given its score: the model maps sounds to codes frame by frame
instead of having to find where in the lyrics it is. Zero-initialised too; guidance's null
branch sings nothing.

With ``vocal_levels`` (:mod:`latentaudio.tokens.tracks`), each frame is two streams: the band
(the first-level code, as above) and the voice's first ``vocal_levels`` levels. A position's input
is the sum of its frame's code embeddings, and one head per stream level predicts the next frame's
codes, all at once (MusicGen's parallel pattern, not its delay: on the mix's codes, a level was as
predictable from the frame before as from the level below, ``benchmarks/song_levels.py``). The
voice's embeddings start at zero, so a warm start from a band-only model is that model.

Shapes: codes ``(B, T)`` int64 in ``[0, codebook_size)``, logits ``(B, T, codebook_size)``; with
voice, codes ``(B, S, T)`` and logits ``(B, T, S, codebook_size)``, ``S = 1 + vocal_levels``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import GlobalEmbedder, GlobalInputs
from latentaudio.conditioning.grid import MUSIC_CHANNELS, music_frames


@dataclass
class LayerCache:
    """One block's keys and values, in buffers that grow by doubling: a step writes its own
    position in place instead of concatenating (copying) the whole past, which cost a tenth of
    a song's wall time."""

    keys: torch.Tensor | None = None  # (B, heads, capacity, head_dim); the first `length` filled
    values: torch.Tensor | None = None
    length: int = 0

    def append(self, keys: torch.Tensor,
               values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``(B, heads, new, head_dim)`` after the past; all keys and values so far."""
        end = self.length + keys.shape[2]
        if self.keys is None or end > self.keys.shape[2]:
            shape = (*keys.shape[:2], max(2 * end, 64), keys.shape[3])
            grown = [torch.empty(shape, dtype=keys.dtype, device=keys.device) for _ in range(2)]
            if self.keys is not None:
                grown[0][:, :, :self.length] = self.keys[:, :, :self.length]
                grown[1][:, :, :self.length] = self.values[:, :, :self.length]
            self.keys, self.values = grown
        self.keys[:, :, self.length:end] = keys
        self.values[:, :, self.length:end] = values
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]


@dataclass
class Cache:
    """Keys and values of everything seen so far, one entry per block, plus its key mask."""

    layers: list[LayerCache]
    mask: torch.Tensor | None = None  # (B, past) bool: which past positions may be attended
    prefix: int = 0  # conditioning positions before the codes (begin token included)
    globals: GlobalInputs | None = None  # the tempo, key and start the music grid is built from
    music: torch.Tensor | None = None  # (B, frames, width): the grid term of frames 0.., ahead
    sung: torch.Tensor | None = None  # (B, F): the phoneme of each frame (LMInputs.sung)

    @property
    def length(self) -> int:
        return self.layers[0].length


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                cache: LayerCache | None) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            k, v = cache.append(k, v)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None])  # (B, h, T, hd)
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, x, mask, cache):
        x = x + self.attn(self.ln1(x), mask, cache)
        return x + self.mlp(self.ln2(x))


@dataclass
class LMInputs:
    """What the coarse model is conditioned on, batched."""

    condition: Conditioning  # caption states, pooled caption, timing, bpm, key
    lyrics: torch.Tensor  # (B, L) int64 ids, 0 = padding; may be (B, 0)
    # (B, F) the phoneme sung at each frame of the window (0: none), for a model with
    # ``sung_frames``; frames past F sing nothing
    sung: torch.Tensor | None = None

    def null_like(self) -> LMInputs:
        """The unconditional branch of guidance: no caption, tags or lyrics."""
        return LMInputs(self.condition.null_like(), torch.zeros_like(self.lyrics),
                        None if self.sung is None else torch.zeros_like(self.sung))

    def where(self, keep: torch.Tensor, other: LMInputs) -> LMInputs:
        """Items of ``self`` where ``keep`` ``(B,)`` is True, else of ``other``."""
        sung = (None if self.sung is None else
                torch.where(keep[:, None], self.sung, other.sung))
        return LMInputs(self.condition.where(keep, other.condition),
                        torch.where(keep[:, None], self.lyrics, other.lyrics), sung)

    @staticmethod
    def cat(items: list[LMInputs]) -> LMInputs:
        width = max(item.lyrics.shape[1] for item in items)
        lyrics = torch.cat([F.pad(item.lyrics, (0, width - item.lyrics.shape[1]))
                            for item in items])
        sung = None
        if any(item.sung is not None for item in items):
            frames = max(item.sung.shape[1] for item in items if item.sung is not None)
            sung = torch.cat([F.pad(item.sung, (0, frames - item.sung.shape[1]))
                              if item.sung is not None else
                              torch.zeros(len(item.lyrics), frames, dtype=torch.long)
                              for item in items])
        return LMInputs(Conditioning.cat([item.condition for item in items]), lyrics, sung)


class CoarseLM(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(
        self,
        codebook_size: int = 1024,  # first-level codewords
        layers: int = 6,
        heads: int = 4,
        width: int = 256,
        max_positions: int = 4096,  # prefix + begin token + codes
        text_dim: int = 384,  # MiniLM
        lyric_vocabulary: int = 128,  # phoneme and section-marker ids (latentaudio.tokens.lyrics)
        max_seconds: float = 240.0,  # timing conditioning range
        music_grid: bool = False,  # frame-level beat grid and key template (conditioning.grid)
        frame_rate: float = 0.0,  # code frames per second, which the beat grid needs
        vocal_levels: int = 0,  # levels of the voice's own stream (0: one stream, the mix)
        sung_frames: bool = False,  # told the phoneme sung at each frame (LMInputs.sung)
    ) -> None:
        super().__init__()
        if music_grid and frame_rate <= 0:
            raise ValueError("the music grid needs the code frame rate (frame_rate > 0)")
        self.token_embedding = nn.Embedding(codebook_size + 1, width)  # + the begin token
        self.position_embedding = nn.Embedding(max_positions, width)
        self.text_projection = nn.Linear(text_dim, width)
        self.global_embedder = GlobalEmbedder(text_dim, width, max_seconds)
        self.lyric_embedding = nn.Embedding(lyric_vocabulary, width, padding_idx=0)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        # Not tied to the input embedding as nanoGPT's is: safetensors, which every checkpoint
        # here uses, stores no shared tensors.
        self.head = nn.Linear(width, codebook_size + 1, bias=False)
        self.apply(self._init_weights)
        if music_grid:
            self.music = nn.Sequential(nn.Linear(MUSIC_CHANNELS, width, bias=False), nn.SiLU(),
                                       nn.Linear(width, width, bias=False))
            nn.init.zeros_(self.music[-1].weight)  # adds nothing until trained
        if sung_frames:
            self.sung_embedding = nn.Embedding(lyric_vocabulary, width)
            nn.init.zeros_(self.sung_embedding.weight)  # adds nothing until trained
        if vocal_levels:
            self.vocal_embedding = nn.Embedding(vocal_levels * codebook_size, width)
            nn.init.zeros_(self.vocal_embedding.weight)  # adds nothing until trained
            self.vocal_head = nn.Linear(width, vocal_levels * codebook_size, bias=False)
            nn.init.normal_(self.vocal_head.weight, std=0.02)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def adapt_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Saved weights of a model with another number of voice levels, fitted to this one
        (``train coarse --init --vocal-levels N``): the first levels' embeddings and heads are
        kept, and levels this model adds start as a new voice does (zero embeddings, the head's
        own start). Other weights are returned as they are."""
        own = self.state_dict()
        state = dict(state)
        for name in ("vocal_embedding.weight", "vocal_head.weight"):
            if name not in state or name not in own:
                continue
            saved, mine = state[name], own[name]
            if saved.shape[0] > mine.shape[0]:
                state[name] = saved[:mine.shape[0]]
            elif saved.shape[0] < mine.shape[0]:
                state[name] = torch.cat([saved.to(mine.dtype), mine[saved.shape[0]:]])
        return state

    @property
    def begin_token(self) -> int:
        return self.config.codebook_size

    @property
    def streams(self) -> int:
        """Code streams per frame: 1, or the band and the voice's levels."""
        return 1 + self.config.vocal_levels

    def _embed(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``(B, T)`` or ``(B, S, T)`` -> the summed embeddings ``(B, T, width)``."""
        if self.config.vocal_levels == 0:
            if codes.ndim != 2:
                raise ValueError(f"expected codes (B, T), got {tuple(codes.shape)}")
            return self.token_embedding(codes)
        if codes.ndim != 3 or codes.shape[1] != self.streams:
            raise ValueError(f"expected codes (B, {self.streams}, T) (the band, then "
                             f"{self.config.vocal_levels} voice levels), got {tuple(codes.shape)}")
        offsets = torch.arange(self.config.vocal_levels, device=codes.device)[None, :, None]
        voice = self.vocal_embedding(codes[:, 1:] + offsets * self.config.codebook_size)
        return self.token_embedding(codes[:, 0]) + voice.sum(dim=1)

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(B, T, width)`` -> logits ``(B, T, K)`` or ``(B, T, S, K)``."""
        size = self.config.codebook_size
        band = self.head(hidden)[..., :size]
        if self.config.vocal_levels == 0:
            return band
        voice = self.vocal_head(hidden).unflatten(-1, (self.config.vocal_levels, size))
        return torch.cat([band[:, :, None], voice], dim=2)

    def new_cache(self) -> Cache:
        return Cache([LayerCache() for _ in self.blocks])

    def prefix(self, inputs: LMInputs) -> tuple[torch.Tensor, torch.Tensor]:
        """The conditioning prefix ``(B, P, width)`` and its mask ``(B, P)`` (True = real)."""
        condition = inputs.condition
        dtype = self.token_embedding.weight.dtype
        text = self.text_projection(condition.text_states.to(dtype))
        global_token = self.global_embedder(condition.pooled.to(dtype), condition.globals)
        lyrics = self.lyric_embedding(inputs.lyrics)
        begin = self.token_embedding.weight[self.begin_token].expand(len(text), 1, -1)
        embeddings = torch.cat([text, global_token, lyrics, begin], dim=1)
        ones = torch.ones(len(text), 1, dtype=torch.bool, device=text.device)
        mask = torch.cat([condition.text_mask.bool(), ones, inputs.lyrics > 0, ones], dim=1)
        return embeddings, mask

    def _music(self, globals_: GlobalInputs, first: int, count: int,
               dtype: torch.dtype) -> torch.Tensor:
        """The grid term ``(B, count, width)`` for the positions predicting frames
        ``first .. first + count - 1``."""
        frames = music_frames(globals_, first + count, self.config.frame_rate)[:, :, first:]
        return self.music(frames.transpose(1, 2).to(dtype))

    def _music_ahead(self, cache: Cache, first: int, count: int,
                     dtype: torch.dtype) -> torch.Tensor:
        """:meth:`_music` from the cache's term, made for twice the frames needed whenever it
        falls short: a token at a time, building the grid up to each frame cost a sixth of a
        step. The grid and its MLP are per frame, so the term does not depend on how far
        ahead it was made."""
        if cache.music is None or cache.music.shape[1] < first + count:
            cache.music = self._music(cache.globals, 0, max(2 * (first + count), 256), dtype)
        return cache.music[:, first:first + count]

    @staticmethod
    def _sung(sung: torch.Tensor | None, first: int, count: int, batch: int,
              device) -> torch.Tensor:
        """Frames ``first .. first + count - 1`` of the sung track ``(B, F)``, 0 past its end."""
        out = torch.zeros(batch, count, dtype=torch.long, device=device)
        if sung is not None and first < sung.shape[1]:
            have = sung[:, first:first + count]
            out[:, :have.shape[1]] = have
        return out

    def forward(self, codes: torch.Tensor, inputs: LMInputs | None = None,
                cache: Cache | None = None) -> torch.Tensor:
        """Logits for the token after each position of ``codes`` ``(B, T)``.

        Without a cache: the prefix from ``inputs`` then ``codes``; the logits of the last prefix
        position (the begin token) and of each code, ``(B, T + 1, K)``. With a cache: an empty
        cache is filled with the prefix (``inputs`` needed) and the codes; a filled one continues
        with ``codes`` only, returning ``(B, T, K)``. With voice: codes ``(B, S, T)``, logits
        ``(B, T + 1, S, K)``.
        """
        x = self._embed(codes)
        start = 0 if cache is None else cache.length
        keep = torch.ones(x.shape[:2], dtype=torch.bool, device=codes.device)
        if start == 0:
            if inputs is None:
                raise ValueError("the first call needs the conditioning inputs")
            prefix, prefix_mask = self.prefix(inputs)
            x = torch.cat([prefix, x], dim=1)
            keep = torch.cat([prefix_mask, keep], dim=1)
            if cache is not None:
                cache.prefix, cache.globals = prefix.shape[1], inputs.condition.globals
                cache.sung = inputs.sung
        if self.config.sung_frames:  # the position predicting frame f hears frame f's phoneme
            first = 0 if start == 0 else start - cache.prefix + 1
            count = codes.shape[-1] + (1 if start == 0 else 0)
            sung = self._sung(inputs.sung if start == 0 else cache.sung, first, count,
                              len(x), x.device)
            x = torch.cat([x[:, :-count], x[:, -count:] + self.sung_embedding(sung)], dim=1)
        if self.config.music_grid:
            if start == 0:  # the begin token predicts frame 0, code t frame t + 1
                count = codes.shape[-1] + 1
                music = (self._music(inputs.condition.globals, 0, count, x.dtype) if cache is None
                         else self._music_ahead(cache, 0, count, x.dtype))
                x = torch.cat([x[:, :-count], x[:, -count:] + music], dim=1)
            else:
                x = x + self._music_ahead(cache, start - cache.prefix + 1, codes.shape[-1],
                                          x.dtype)
        past_mask = cache.mask if cache is not None and cache.mask is not None else keep[:, :0]
        key_mask = torch.cat([past_mask, keep], dim=1)  # (B, start + new)
        length = x.shape[1]
        if start + length > self.config.max_positions:
            raise ValueError(f"{start + length} positions exceed the model's "
                             f"{self.config.max_positions}")
        positions = torch.arange(start, start + length, device=x.device)
        x = x + self.position_embedding(positions)[None]
        causal = torch.ones(length, start + length, dtype=torch.bool, device=x.device).tril(
            diagonal=start)
        mask = causal[None] & key_mask[:, None, :]
        for index, block in enumerate(self.blocks):
            x = block(x, mask, None if cache is None else cache.layers[index])
        if cache is not None:
            cache.mask = key_mask
        if start == 0:  # only the begin token's and the codes' logits are wanted
            x = x[:, prefix.shape[1] - 1:]
        return self._logits(self.ln_f(x))


def coarse_losses(model: nn.Module, codes: torch.Tensor, inputs: LMInputs) -> torch.Tensor:
    """Next-token cross-entropy of each of ``codes`` ``(B, T)`` (or ``(B, S, T)``), in the
    same shape. ``model`` is called, not its methods, so a wrapped (distributed) model works."""
    logits = model(codes, inputs)[:, :-1]  # the prediction of each code
    if codes.ndim == 3:  # (B, T, S, K) -> (B, S, T, K)
        logits = logits.transpose(1, 2)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), codes.reshape(-1),
                           reduction="none").view_as(codes)


def coarse_loss(model: nn.Module, codes: torch.Tensor, inputs: LMInputs,
                mask: torch.Tensor | None = None) -> torch.Tensor:
    """The mean of :func:`coarse_losses` over real frames (``mask`` (B, T) True) and over the
    streams, each weighing the same."""
    losses = coarse_losses(model, codes, inputs)
    if losses.ndim == 3:
        losses = losses.mean(dim=1)
    if mask is None:
        return losses.mean()
    return (losses * mask).sum() / mask.sum().clamp_min(1)


def filter_logits(logits: torch.Tensor, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Top-k, then nucleus (top-p, Holtzman et al. 2020) filtering: excluded tokens get -inf."""
    if top_k is not None and top_k < logits.shape[-1]:
        threshold = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < threshold, -math.inf)
    if top_p is not None and top_p < 1.0:
        ordered, order = logits.sort(dim=-1, descending=True)
        cumulative = ordered.softmax(-1).cumsum(-1)
        drop = cumulative - ordered.softmax(-1) >= top_p  # keep the smallest set reaching p
        logits = logits.masked_fill(drop.scatter(-1, order, drop), -math.inf)
    return logits


@torch.no_grad()
def generate(model: CoarseLM, inputs: LMInputs, length: int, *, guidance: float = 3.0,
             key_guidance: float | None = None,
             temperature: float = 1.0, top_k: int | None = 250, top_p: float | None = None,
             generators: list[torch.Generator] | None = None,
             context: torch.Tensor | None = None, progress: bool = False) -> torch.Tensor:
    """Sample ``length`` codes ``(B, length)`` after optional ``context`` codes ``(B, C)``,
    with classifier-free guidance on the logits (:func:`latentaudio.diffusion.guidance.combine`),
    one generator per item. A model with voice makes ``(B, S, length)`` after ``(B, S, C)``:
    every stream of a frame at once, each from its own guided distribution.

    ``key_guidance`` gives the key its own scale, as the DiT's (:func:`~latentaudio.diffusion.
    guidance.guided`): ``null + guidance (no key - null) + key_guidance (all - no key)``, a
    third row (the coarse model is trained with the key dropped apart). None: the main scale,
    two rows; so it is for a prompt that asks for no key."""
    from tqdm import tqdm

    from latentaudio.diffusion.guidance import combine, combine_nested, music_scales

    batch = len(inputs.lyrics)
    generators = generators or [torch.Generator().manual_seed(0) for _ in range(batch)]
    # The coarse model has no tempo scale of its own; a key nobody asks for takes the main one.
    key_guidance = music_scales(guidance, guidance, guidance if key_guidance is None
                                else key_guidance, inputs.condition)[1]
    rows = 1 if guidance == key_guidance == 1.0 else 2 if key_guidance == guidance else 3
    branches = [inputs, inputs.null_like()][:rows]
    if rows == 3:  # all, null, no key
        branches.append(LMInputs(inputs.condition.with_music(tempo=True, key=False),
                                 inputs.lyrics))
    streams = getattr(model, "streams", 1)
    shape = (batch, 0) if streams == 1 else (batch, streams, 0)
    start = context if context is not None else torch.zeros(shape, dtype=torch.long)
    cache = model.new_cache()
    logits = model(torch.cat([start] * rows), LMInputs.cat(branches), cache)[:, -1]
    out = []
    for _ in tqdm(range(length), desc="tokens", disable=not progress):
        if rows == 3:
            full, unconditional, keyless = logits.float().chunk(3)
            step = combine_nested(full, keyless, unconditional, guidance, key_guidance)
        elif rows == 2:
            conditional, unconditional = logits.float().chunk(2)
            step = combine(conditional, unconditional, guidance)
        else:
            step = logits.float()
        step = filter_logits(step / max(temperature, 1e-5), top_k, top_p)
        probabilities = step.softmax(-1)  # (B, K) or (B, S, K)
        tokens = torch.stack([torch.multinomial(p.view(-1, p.shape[-1]), 1, generator=g)
                              .view(p.shape[:-1]) for p, g in zip(probabilities, generators,
                                                                  strict=True)])
        tokens = tokens[..., None]  # (B, 1) or (B, S, 1)
        out.append(tokens)
        logits = model(torch.cat([tokens] * rows), cache=cache)[:, -1]
    return torch.cat(out, dim=-1)
