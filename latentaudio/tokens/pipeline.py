"""The token-AR generator: text (and lyrics) -> coarse tokens -> all levels -> latents -> audio.

Components (one subfolder each): ``vae`` and ``vocoder`` (the same codec as the diffusion
generator), ``tokens`` (the residual VQ), ``coarse`` (:class:`CoarseLM`), ``fine``
(:class:`FineModel`), ``text_encoder`` + ``tokenizer`` (MiniLM), and with a coarse model of two
streams ``vocal_tokens``, the voice's codebooks (:mod:`latentaudio.tokens.tracks`): the band and
the voice are decoded apart and summed before the vocoder.

Long outputs are made window by window (``WINDOW_SECONDS``, the training crop) with the last
``CONTEXT_SECONDS`` of tokens as the next window's context and ``seconds_start`` moved along, so
the model always works inside the lengths it was trained on. With lyrics, every word is first
given its time in the song (:func:`~latentaudio.tokens.lyrics.plan_words`, as the corpus's songs
time theirs); each window is then given what a training crop is: the words sung inside it and,
for a model with ``sung_frames``, the phoneme of each frame. The output's ``lyrics_schedule``
says which line was sung when.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import ClassVar

import torch
from diffusers import DiffusionPipeline

from latentaudio.codec import LatentCodec
from latentaudio.conditioning.condition import encode_specs
from latentaudio.conditioning.minilm import SharedBertModel  # noqa: F401  (as DENOISERS)
from latentaudio.conditioning.prompt import resolve_prompt
from latentaudio.conditioning.text import check_tokenizer
from latentaudio.errors import LatentAudioError
from latentaudio.folders import OwnLoader
from latentaudio.limits import SONG_SECONDS, check_prompt
from latentaudio.outputs import GenerationOutput
from latentaudio.postprocess import MasteringConfig, master
from latentaudio.tokens.fine import FineModel
from latentaudio.tokens.lm import CoarseLM, LMInputs, generate
from latentaudio.tokens.lyrics import encode_lyrics, plan_words, sung_frames, words_between
from latentaudio.tokens.rvq import ResidualVQ
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder

WINDOW_SECONDS = 10.0
CONTEXT_SECONDS = 5.0
MIN_SECONDS, MAX_SECONDS = SONG_SECONDS


def plan_windows(total: int, window: int, context: int) -> list[tuple[int, int]]:
    """``(context frames kept, new frames)`` per window, for ``total`` frames: the first window
    makes up to ``window`` frames, each next one keeps the last ``context`` and adds up to
    ``window - context``. A last window that would add less than half of that is folded into
    the one before, which keeps that much less context to make room (still at least half), or,
    after the first window, given half a step; so no window, and no lyrics section, lasts a
    fraction of a second."""
    step = window - context
    plan, have = [], 0
    while have < total:
        keep = min(context, have)
        new = min(window - keep, total - have)
        left = total - have - new
        if 0 < left < step / 2:
            if keep - left >= context / 2:
                keep, new = keep - left, new + left
            else:  # the first window: it leaves the last one half a step instead
                new -= math.ceil(step / 2) - left
        plan.append((keep, new))
        have += new
    return plan


def window_inputs(caption, words: list[dict], start: float, frames: int, rate: float,
                  language: str = "en-us") -> LMInputs:
    """What the coarse model of the window from ``start`` seconds is given, as a training crop
    is: the caption (one item) timed from there, the words sung inside the window and the
    phoneme of each of its ``frames`` frames."""
    condition = replace(caption, globals=replace(caption.globals,
                                                 seconds_start=torch.full((1,), start)))
    text = words_between(words, start, start + WINDOW_SECONDS)
    track = (encode_lyrics(text, language) if text else torch.zeros(0, dtype=torch.long))[None]
    return LMInputs(condition, track, sung_frames(words, start, frames, rate, language)[None])


def lyrics_schedule(words: list[dict]) -> list[dict]:
    """What was sung where, for the lyrics report: each line's span (seconds), section and
    words, in order (:func:`~latentaudio.tokens.lyrics.plan_words`'s times)."""
    lines: dict[int, list[dict]] = {}
    for word in words:
        lines.setdefault(word["line"], []).append(word)
    return [{"start": round(line[0]["start"], 2), "end": round(line[-1]["end"], 2),
             "section": line[0]["section"], "words": [w["word"] for w in line]}
            for line in lines.values()]


class TokenPipeline(OwnLoader, DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->coarse->fine->vae->vocoder"
    _optional_components: ClassVar[list[str]] = ["vocal_tokens"]

    def __init__(self, vae: MelVAE, vocoder: Vocoder, tokens: ResidualVQ, coarse: CoarseLM,
                 fine: FineModel, text_encoder, tokenizer,
                 vocal_tokens: ResidualVQ | None = None) -> None:
        super().__init__()
        self.register_modules(vae=vae, vocoder=vocoder, tokens=tokens, coarse=coarse, fine=fine,
                              text_encoder=text_encoder, tokenizer=tokenizer,
                              vocal_tokens=vocal_tokens)
        check_tokenizer(tokenizer, "the token pipeline's tokenizer")
        if coarse.streams > 1 and vocal_tokens is None:
            raise LatentAudioError("this coarse model has a voice stream: the pipeline needs "
                                   "its codebooks (vocal_tokens; 'train assemble-ar "
                                   "--vocal-tokens')")
        self.codec = LatentCodec(vae, vocoder)

    @property
    def sample_rate(self) -> int:
        return self.vae.config.sample_rate

    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        *,
        seconds: float | None = None,
        bpm: float | None = None,
        key: str | None = None,
        lyrics: str | None = None,
        language: str = "en-us",
        seed: int = 0,
        guidance: float = 3.0,
        key_guidance: float | None = None,
        temperature: float = 1.0,
        top_k: int | None = 250,
        top_p: float | None = None,
        mastering: MasteringConfig | None = None,
        safety_check: bool = True,
        progress: bool = True,
        decoder: str | None = None,
    ) -> GenerationOutput:
        """``decoder``: how log-mel becomes audio (:mod:`latentaudio.decoders`).
        ``key_guidance``: the key's own guidance scale, for a prompt that asks for a key
        (default: ``guidance``, no own scale: 1.75 x it, the DiT's default, moved the benchmark
        song's key in 1 of 16 windows and made it 10% slower; ``benchmarks/song.py``)."""
        # 1. Check inputs.
        decoder = self.codec.check_decoder(decoder)
        check_prompt(prompt, safety_check=safety_check, what="music")
        check_prompt(lyrics, safety_check=safety_check, allow_empty=True)
        spec = resolve_prompt(prompt, seconds=seconds, default_seconds=WINDOW_SECONDS, bpm=bpm,
                              key=key, limits=SONG_SECONDS)

        # 2. Plan the windows: frames per window, new frames per window after the first.
        rate = self.tokens.config.frame_rate
        samples = round(spec.seconds * self.sample_rate)
        total = self.vae.latent_frames(self.codec.mel.config.num_frames(samples))
        plan = plan_windows(total, round(WINDOW_SECONDS * rate), round(CONTEXT_SECONDS * rate))
        words = plan_words(lyrics, spec.seconds, spec.bpm) if lyrics else []
        generator = torch.Generator().manual_seed(int(seed))

        # 3. Coarse tokens, window by window, each continuing from the last one's tail.
        streams = self.coarse.streams
        coarse = torch.zeros((1, 0) if streams == 1 else (1, streams, 0), dtype=torch.long)
        caption = encode_specs(self.tokenizer, self.text_encoder, [spec])
        from tqdm import tqdm

        for keep, new in tqdm(plan, desc="windows", disable=not progress):
            have = coarse.shape[-1]
            start = (have - keep) / rate  # where this window starts, in seconds
            inputs = window_inputs(caption, words, start, keep + new, rate, language)
            codes = generate(self.coarse, inputs, new,
                             guidance=guidance, key_guidance=key_guidance,
                             temperature=temperature, top_k=top_k, top_p=top_p,
                             generators=[generator], context=coarse[..., have - keep:])
            coarse = torch.cat([coarse, codes], dim=-1)

        # 4. Fine levels (their expected codewords), then decode.
        audio = self._decode(coarse[..., :total], samples, decoder)[0].numpy()

        # 5. Post-process: exact length, fades, loudness, true peak, watermark.
        out, report = master(audio, self.sample_rate, samples, mastering)
        return GenerationOutput(out[None], self.sample_rate, [spec], [seed], [report],
                                lyrics_schedule=[lyrics_schedule(words)] if lyrics else None)

    def _decode(self, coarse: torch.Tensor, samples: int, decoder: str) -> torch.Tensor:
        """Coarse codes ``(B, T)`` (or tracks ``(B, S, T)``) -> waveform ``(B, 2, samples)``:
        the fine model fills the band's levels; the voice's levels are all there. Two streams
        are summed as mel magnitudes, then vocoded once."""
        band = coarse if coarse.ndim == 2 else coarse[:, 0]
        latents = self.fine.fill_latents(band, self.tokens.codebooks).float()
        if coarse.ndim == 2:
            return self.codec.decode(latents, samples, decoder)
        voice = self.vocal_tokens.decode(coarse[:, 1:]).float()
        log_mel = torch.logaddexp(self.codec.decode_mel(latents, samples),
                                  self.codec.decode_mel(voice, samples))
        return self.codec.vocode(log_mel, samples, decoder)

