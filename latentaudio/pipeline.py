"""The text-to-audio generator: a diffusers pipeline whose ``__call__`` reads top to bottom.

Besides words, a reference recording can steer the output: ``melody`` (its tune, as chroma) and
``style`` (its sound, as an audio embedding); with a style, the prompt may be empty.

Components (one subfolder each in a model folder): ``vae`` (MelVAE), ``vocoder`` (Vocoder),
``denoiser`` (LatentDiT or LatentUNet), ``text_encoder`` + ``tokenizer`` (transformers, MiniLM
by default) and ``scheduler`` (a diffusers flow scheduler). Cost scales with the requested
duration: only ``ceil(seconds * 21.5)`` latent frames are denoised and decoded.

Randomness comes only from the generators passed in (or one seed per sample), one per output, so
sample *i* is the same whatever the batch size; nothing global is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DiffusionPipeline

from latentaudio.codec import LatentCodec
from latentaudio.conditioning.condition import Conditioning, encode_specs
from latentaudio.conditioning.prompt import PromptSpec, resolve_prompt
from latentaudio.conditioning.reference import StyleEmbedder, fit_frames, melody_chroma
from latentaudio.conditioning.safety import SafetyFilter
from latentaudio.conditioning.text import check_tokenizer, encode_texts
from latentaudio.denoisers import DENOISERS  # noqa: F401  (diffusers loads only imported classes)
from latentaudio.diffusion.flow import SCHEDULERS, initial_noise, sample
from latentaudio.errors import LatentAudioError
from latentaudio.generation import SharedParts
from latentaudio.limits import check_guidance
from latentaudio.postprocess import MasteringConfig, MasteringReport, master
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder

MIN_SECONDS, MAX_SECONDS = 0.5, 47.0
DEFAULT_SECONDS = 10.0
MAX_SILENT_REDRAWS = 4  # a silent clip is drawn again (next seed) at most this often
SILENT_SEED_STRIDE = 10_007  # redraw k uses seed + k x this: clear of a batch's seed, seed + 1...


@dataclass
class GenerationOutput:
    audios: np.ndarray  # (B, 2, samples) float32, mastered
    sample_rate: int
    specs: list[PromptSpec]  # what each prompt was parsed into, after overrides
    seeds: list[int | None]  # the seed each clip was made from (after any silent redraws)
    mastering: list[MasteringReport]
    silent_redraws: list[int] | None = None  # how often each item was drawn again for silence


class LatentAudioPipeline(SharedParts, DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->denoiser->vae->vocoder"

    def __init__(self, vae: MelVAE, vocoder: Vocoder, denoiser, text_encoder, tokenizer,
                 scheduler) -> None:
        super().__init__()
        self.register_modules(vae=vae, vocoder=vocoder, denoiser=denoiser,
                              text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)
        check_tokenizer(tokenizer, "the pipeline's tokenizer")
        self.codec = LatentCodec(vae, vocoder)
        self._style_embedder = None  # the frozen aisfx tower, loaded on first use

    @property
    def sample_rate(self) -> int:
        return self.vae.config.sample_rate

    # --------------------------------------------------------------------- conditioning
    def encode_prompt(self, specs: list[PromptSpec], negative_prompt: str | None = None
                      ) -> tuple[Conditioning, Conditioning]:
        """``(condition, negative)`` for the parsed prompts; the negative is the null
        conditioning, or the negative prompt's text with the same timing."""
        condition = encode_specs(self.tokenizer, self.text_encoder, specs)
        negative = condition.null_like()
        if negative_prompt:
            words = encode_texts(self.tokenizer, self.text_encoder,
                                 [negative_prompt] * len(specs))
            negative = Conditioning(words.states, words.mask, words.pooled, negative.globals)
        return condition, negative

    def encode_references(self, specs: list[PromptSpec], condition: Conditioning,
                          negative: Conditioning, frames: int, melody: list[np.ndarray] | None,
                          style: list[np.ndarray] | None) -> tuple[Conditioning, Conditioning]:
        """Add one melody and/or style reference per item (44.1 kHz ``(channels, samples)``
        arrays) to ``condition``; the negative gets none, so guidance also pushes towards them.
        An item with a style and an empty prompt is conditioned on the style alone."""
        if melody is not None:
            chroma = [fit_frames(melody_chroma(ref, self.sample_rate,
                                               self.vae.samples_per_latent), frames)
                      for ref in melody]
            condition.melody = torch.stack(chroma)  # (B, 12, frames)
            negative.melody = torch.zeros_like(condition.melody)
        if style is not None:
            self._style_embedder = self._style_embedder or StyleEmbedder()
            condition.style = torch.stack([self._style_embedder(ref) for ref in style])
            negative.style = torch.zeros_like(condition.style)  # (B, 512)
            wordless = torch.tensor([not spec.caption.strip() for spec in specs])
            condition = condition.where(~wordless, condition.without_text())
        return condition, negative

    # --------------------------------------------------------------------- generation
    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        *,
        seconds: float | None = None,
        bpm: float | None = None,
        key: str | None = None,
        negative_prompt: str | None = None,
        num_inference_steps: int = 12,
        guidance_scale: float = 4.0,
        generator: torch.Generator | list[torch.Generator] | None = None,
        seeds: list[int] | None = None,
        mastering: MasteringConfig | None = None,
        scheduler: str | None = None,
        melody: np.ndarray | list[np.ndarray] | None = None,
        style: np.ndarray | list[np.ndarray] | None = None,
        safety_check: bool = True,
        progress: bool = True,
        callback: Callable[[int, int], None] | None = None,
        decoder: str | None = None,
        allow_silence: bool = False,
    ) -> GenerationOutput:
        """``melody`` / ``style``: one reference recording, 44.1 kHz ``(channels, samples)``,
        for every prompt, or a list with one per prompt. ``safety_check`` refuses prompts that
        name living artists (:mod:`latentaudio.conditioning.safety`); turn it off for research
        only. ``callback(done, total)`` runs after each denoising step. ``decoder``: how log-mel
        becomes audio (:mod:`latentaudio.decoders`; default ``hybrid``). A clip that comes out
        silent (nothing above BS.1770's absolute gate) is drawn again from its next seed (seed +
        k x ``SILENT_SEED_STRIDE``), up to ``MAX_SILENT_REDRAWS`` times, unless
        ``allow_silence``; the output's ``seeds`` are the ones used."""
        # 1. Check inputs.
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        melody = _references(melody, len(prompts), "melody")
        style = _references(style, len(prompts), "style")
        if not prompts or (style is None and not all(p.strip() for p in prompts)):
            raise LatentAudioError("the prompt is empty: describe the sound you want (or give "
                                   "a style reference)")
        if num_inference_steps < 1:
            raise LatentAudioError(f"steps must be at least 1, got {num_inference_steps}")
        if safety_check:
            for text in prompts:
                SafetyFilter.default().check(text)
        decoder = self.codec.check_decoder(decoder)
        check_guidance(guidance_scale)
        if scheduler is not None and scheduler not in SCHEDULERS:
            raise LatentAudioError(f"unknown scheduler {scheduler!r}: use one of "
                                   f"{', '.join(SCHEDULERS)}")

        # 2. Parse prompts; explicit arguments override what the text says.
        # Without a duration, a melody reference sets it (its tune, start to end).
        natural = (min(melody[0].shape[-1] / self.sample_rate, MAX_SECONDS)
                   if melody is not None else DEFAULT_SECONDS)
        specs = [resolve_prompt(text, seconds=seconds, default_seconds=natural, bpm=bpm, key=key,
                                limits=(MIN_SECONDS, MAX_SECONDS)) for text in prompts]
        if len({s.seconds for s in specs}) > 1:
            raise LatentAudioError("prompts in one batch must ask for the same duration")

        # 3. One generator per sample: passed in, or from seeds (item i depends only on its own).
        if seeds is not None:
            generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        elif isinstance(generator, list):
            generators = generator
        else:
            generators = [generator or torch.Generator().manual_seed(0)] * len(specs)
            if len(specs) > 1 and generator is not None:
                raise LatentAudioError("pass one generator per prompt (or seeds) for a batch")
        if len(generators) != len(specs):
            raise LatentAudioError(f"{len(generators)} generators for {len(specs)} prompts")

        # 4. Encode the prompts and any reference recordings.
        samples = round(specs[0].seconds * self.sample_rate)
        frames = self.vae.latent_frames(self.codec.mel.config.num_frames(samples))
        condition, negative = self.encode_prompt(specs, negative_prompt)
        if melody is not None or style is not None:
            condition, negative = self.encode_references(specs, condition, negative, frames,
                                                         melody, style)

        # 5-8. Draw: noise for just the requested duration, denoise, decode, master.
        def draw(items: list[int], generators: list[torch.Generator]):
            return self._draw(condition.select(items), negative.select(items), generators,
                              frames, samples, steps=num_inference_steps,
                              guidance=guidance_scale, scheduler=scheduler, decoder=decoder,
                              mastering=mastering, progress=progress, callback=callback)

        audios, reports = draw(list(range(len(specs))), generators)

        # 9. Never a silent clip unasked: draw a silent item again from its next seed (or its
        #    generator's next numbers), up to MAX_SILENT_REDRAWS times.
        used = list(seeds) if seeds is not None else [None] * len(specs)
        redraws = [0] * len(specs)
        for attempt in range(1, (0 if allow_silence else MAX_SILENT_REDRAWS) + 1):
            silent = [i for i, report in enumerate(reports) if report.loudness_case == "silent"]
            if not silent:
                break
            if seeds is not None:
                for i in silent:
                    used[i] = int(seeds[i]) + attempt * SILENT_SEED_STRIDE
                retry = [torch.Generator().manual_seed(used[i]) for i in silent]
            else:
                retry = [generators[i] for i in silent]
            again, again_reports = draw(silent, retry)
            for j, i in enumerate(silent):
                audios[i], reports[i], redraws[i] = again[j], again_reports[j], attempt
        if not allow_silence and any(r.loudness_case == "silent" for r in reports):
            tried = ", ".join(str(s) for s in (seeds or []))
            raise LatentAudioError(
                f"the model made silence {MAX_SILENT_REDRAWS + 1} times in a row"
                + (f" (from seeds {tried} on)" if tried else "")
                + ": try other words or another seed")
        return GenerationOutput(np.stack(audios), self.sample_rate, specs, used, reports,
                                redraws)

    def _draw(self, condition: Conditioning, negative: Conditioning,
              generators: list[torch.Generator], frames: int, samples: int, *, steps: int,
              guidance: float, scheduler, decoder: str, mastering: MasteringConfig | None,
              progress: bool, callback) -> tuple[list[np.ndarray], list[MasteringReport]]:
        """Steps 5-8 for the items of ``condition``: mastered ``(2, samples)`` clips."""
        # 5. Prepare the initial noise for just the requested duration.
        dtype = self.denoiser.dtype
        latents = initial_noise((len(condition), self.vae.config.latent_channels, frames),
                                generators).to(dtype)

        # 6. Denoise with classifier-free guidance (a named scheduler replaces the folder's for
        #    this call only).
        latents = sample(self.denoiser, latents, condition, negative, steps=steps,
                         guidance=guidance, scheduler=scheduler or self.scheduler,
                         progress=progress, callback=callback)

        # 7. Decode: latents -> log-mel -> waveform.
        audio = self.codec.decode(latents.float(), samples, decoder).numpy()

        # 8. Post-process: exact length, fades, loudness, true-peak ceiling.
        mastered = [master(clip, self.sample_rate, samples, mastering) for clip in audio]
        return [clip for clip, _ in mastered], [report for _, report in mastered]


def _references(value, count: int, name: str) -> list[np.ndarray] | None:
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
