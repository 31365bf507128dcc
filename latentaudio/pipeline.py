"""The text-to-audio generator: a diffusers pipeline whose ``__call__`` reads top to bottom.

It follows diffusers' conventions, so code written for ``StableAudioPipeline`` runs against it:
``prompt`` / ``negative_prompt`` or precomputed ``prompt_embeds`` / ``negative_prompt_embeds``
(from :meth:`LatentAudioPipeline.encode_prompt`), ``audio_end_in_s`` / ``audio_start_in_s``,
``num_waveforms_per_prompt``, ``generator``, ``latents``, ``output_type`` ("np", "pt" or
"latent"), ``return_dict`` and ``callback_on_step_end``. Its own options come after those:
``seconds``, ``bpm``, ``key``, ``seeds``, ``melody`` and ``style`` references, ``decoder``,
``mastering``...

Besides words, a reference recording can steer the output: ``melody`` (its tune, as chroma) and
``style`` (its sound, as an audio embedding); with a style, the prompt may be empty.

Components (one subfolder each in a model folder): ``vae`` (MelVAE), ``vocoder`` (Vocoder,
optional: the default hybrid decoder needs none), ``denoiser`` (LatentDiT or LatentUNet),
``text_encoder`` + ``tokenizer`` (transformers, MiniLM by default) and ``scheduler`` (a diffusers
flow scheduler). Cost scales with the requested duration: only ``ceil(seconds * 21.5)`` latent
frames are denoised and decoded. Noise, latents and conditioning are made on the pipeline's
execution device, in the denoiser's dtype.

Randomness comes only from the generators passed in (or one seed per sample): with one generator
per output (or ``seeds``), sample *i* is the same whatever the batch size; nothing global is
changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from diffusers import DiffusionPipeline

from latentaudio.adapters_loader import TransformerLoraLoader
from latentaudio.codec import LatentCodec
from latentaudio.conditioning.condition import Conditioning, from_text_states
from latentaudio.conditioning.minilm import SharedBertModel  # noqa: F401  (as DENOISERS)
from latentaudio.conditioning.prompt import PromptSpec, resolve_prompt
from latentaudio.conditioning.reference import StyleEmbedder, fit_frames, melody_chroma
from latentaudio.conditioning.text import check_tokenizer, encode_texts
from latentaudio.denoisers import DENOISERS  # noqa: F401  (diffusers loads only imported classes)
from latentaudio.diffusion.flow import (
    SCHEDULERS,
    for_sampling,
    initial_noise,
    integration_dtype,
    sample,
)
from latentaudio.errors import LatentAudioError, SilentOutputError
from latentaudio.folders import OwnLoader
from latentaudio.limits import (
    DEFAULT_SECONDS,
    GENERATE_SECONDS,
    check_guidance,
    check_prompt,
)
from latentaudio.outputs import GenerationOutput
from latentaudio.pipeline_inputs import (
    check_duration,
    check_references,
    fit_initial_audio,
    generators_for,
    per_prompt,
)
from latentaudio.postprocess import MasteringConfig, MasteringReport, master
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder

MIN_SECONDS, MAX_SECONDS = GENERATE_SECONDS
MAX_SILENT_REDRAWS = 4  # a silent clip is drawn again (next seed) at most this often
SILENT_SEED_STRIDE = 10_007  # redraw k uses seed + k x this: clear of a batch's seed, seed + 1...
OUTPUT_TYPES = ("np", "pt", "latent")

__all__ = ["MAX_SECONDS", "MIN_SECONDS", "GenerationOutput", "LatentAudioPipeline"]


class LatentAudioPipeline(OwnLoader, TransformerLoraLoader, DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->denoiser->vae->vocoder"
    _optional_components: ClassVar[list[str]] = ["vocoder"]
    _callback_tensor_inputs: ClassVar[list[str]] = ["latents"]

    def __init__(self, vae: MelVAE | None, denoiser, text_encoder, tokenizer, scheduler,
                 vocoder: Vocoder | None = None) -> None:
        super().__init__()
        self.register_modules(vae=vae, vocoder=vocoder, denoiser=denoiser,
                              text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)
        if tokenizer is not None:
            check_tokenizer(tokenizer, "the pipeline's tokenizer")
        self._codec = None  # built from vae + vocoder on first use (either may be swapped)
        self._style_embedder = None  # the frozen aisfx tower, loaded on first use
        self._guidance_scale = 4.0
        self._music_guidance = (None, None)  # the tempo's and key's own scales (None: the same)
        self._num_timesteps = 0

    @property
    def codec(self) -> LatentCodec:
        if self.vae is None:
            raise LatentAudioError("this pipeline has no vae: it can encode prompts only")
        if (self._codec is None or self._codec.vae is not self.vae
                or self._codec.vocoder is not self.vocoder):
            self._codec = LatentCodec(self.vae, self.vocoder)
        return self._codec

    @property
    def transformer(self):
        """The denoiser, under the name diffusers' DiT pipelines give theirs."""
        return self.denoiser

    @property
    def sample_rate(self) -> int:
        return self.vae.config.sample_rate

    @property
    def guidance_scale(self) -> float:
        return self._guidance_scale

    @property
    def do_classifier_free_guidance(self) -> bool:
        return self._guidance_scale != 1.0

    @property
    def num_timesteps(self) -> int:
        return self._num_timesteps

    # --------------------------------------------------------------------- conditioning
    def encode_prompt(
        self,
        prompt: str | list[str] | None = None,
        device: torch.device | None = None,
        do_classifier_free_guidance: bool = True,
        negative_prompt: str | list[str] | None = None,
        prompt_embeds: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        negative_attention_mask: torch.Tensor | None = None,
    ):
        """The text encoder's states for the prompts' captions (what is left once timing,
        tempo and key are read out of the words) and for the negative prompts, with their
        masks: what ``__call__`` takes as ``prompt_embeds``, ``negative_prompt_embeds``,
        ``attention_mask`` and ``negative_attention_mask``.

        Without a negative prompt the negative states are zeros, the unconditional branch
        (None when ``do_classifier_free_guidance`` is False). Timing, tempo and key are not in
        the states: pass them to ``__call__`` (``seconds``, ``bpm``, ``key``).
        """
        device = device or self._execution_device
        if prompt_embeds is None:
            prompts = [prompt] if isinstance(prompt, str) else list(prompt or [])
            prompt_embeds, attention_mask = self._encode_captions(
                [parse_caption(text) for text in prompts], device)
        if attention_mask is None:
            attention_mask = torch.ones(prompt_embeds.shape[:2], dtype=torch.bool,
                                        device=prompt_embeds.device)
        if do_classifier_free_guidance and negative_prompt_embeds is None:
            if negative_prompt:
                negative_prompt_embeds, negative_attention_mask = self._encode_captions(
                    per_prompt(negative_prompt, prompt_embeds.shape[0], "negative prompts"),
                    device)
            else:
                negative_prompt_embeds = torch.zeros_like(prompt_embeds)
                negative_attention_mask = torch.ones_like(attention_mask)
        if negative_prompt_embeds is not None and negative_attention_mask is None:
            negative_attention_mask = torch.ones(negative_prompt_embeds.shape[:2],
                                                 dtype=torch.bool,
                                                 device=negative_prompt_embeds.device)
        return prompt_embeds, negative_prompt_embeds, attention_mask, negative_attention_mask

    def _encode_captions(self, captions: list[str], device=None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.text_encoder is None or self.tokenizer is None:
            raise LatentAudioError("this pipeline has no text encoder: pass prompt_embeds "
                                   "from encode_prompt")
        text = encode_texts(self.tokenizer, self.text_encoder, captions)
        device = device or self._execution_device
        return text.states.to(device), text.mask.to(device)

    def encode_conditioning(self, specs: list[PromptSpec], negative_prompt: str | None = None,
                            seconds_start: float = 0.0) -> tuple[Conditioning, Conditioning]:
        """``(condition, negative)`` for parsed prompts: what the denoiser takes. The negative
        is the null conditioning, or the negative prompt's words with the same timing."""
        states, mask = self._encode_captions([spec.caption for spec in specs])
        _, negative_states, _, negative_mask = self.encode_prompt(
            prompt_embeds=states, attention_mask=mask, negative_prompt=negative_prompt)
        return self._conditioning(specs, states, mask, negative_states, negative_mask,
                                  seconds_start)

    def _conditioning(self, specs, states, mask, negative_states, negative_mask,
                      seconds_start: float) -> tuple[Conditioning, Conditioning]:
        condition = from_text_states(states, mask, specs, seconds_start)
        null = condition.null_like()
        if negative_states is None:
            return condition, null
        words = from_text_states(negative_states, negative_mask, specs, seconds_start)
        return condition, Conditioning(words.text_states, words.text_mask, words.pooled,
                                       null.globals)

    def encode_references(self, specs: list[PromptSpec], condition: Conditioning,
                          negative: Conditioning, frames: int, melody: list[np.ndarray] | None,
                          style: list[np.ndarray] | None) -> tuple[Conditioning, Conditioning]:
        """Add one melody and/or style reference per item (44.1 kHz ``(channels, samples)``
        arrays) to ``condition``; the negative gets none, so guidance also pushes towards them.
        An item with a style and an empty prompt is conditioned on the style alone."""
        device = condition.text_states.device
        if melody is not None:
            chroma = [fit_frames(melody_chroma(ref, self.sample_rate,
                                               self.vae.samples_per_latent), frames)
                      for ref in melody]
            condition.melody = torch.stack(chroma).to(device)  # (B, 12, frames)
            negative.melody = torch.zeros_like(condition.melody)
        if style is not None:
            self._style_embedder = self._style_embedder or StyleEmbedder()
            condition.style = torch.stack([self._style_embedder(ref) for ref in style]
                                          ).to(device)
            negative.style = torch.zeros_like(condition.style)  # (B, 512)
            wordless = torch.tensor([not spec.caption.strip() for spec in specs],
                                    device=device)
            condition = condition.where(~wordless, condition.without_text())
        return condition, negative

    # --------------------------------------------------------------------- generation
    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] | None = None,
        audio_end_in_s: float | None = None,
        audio_start_in_s: float = 0.0,
        num_inference_steps: int = 12,
        guidance_scale: float = 4.0,
        negative_prompt: str | list[str] | None = None,
        num_waveforms_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        initial_audio_waveforms: torch.Tensor | None = None,
        initial_audio_sampling_rate: int | None = None,
        prompt_embeds: torch.Tensor | None = None,
        negative_prompt_embeds: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        negative_attention_mask: torch.Tensor | None = None,
        output_type: str = "np",
        return_dict: bool = True,
        callback_on_step_end: Callable[..., dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        *,
        seconds: float | None = None,
        bpm: float | None = None,
        key: str | None = None,
        tempo_guidance_scale: float | None = None,
        key_guidance_scale: float | None = None,
        seeds: list[int] | None = None,
        mastering: MasteringConfig | None = None,
        scheduler: str | None = None,
        melody: np.ndarray | list[np.ndarray] | None = None,
        style: np.ndarray | list[np.ndarray] | None = None,
        safety_check: bool = True,
        progress: bool = True,
        callback: Callable[[int, int], None] | None = None,
        callback_steps: int = 1,
        strength: float = 0.5,
        decoder: str | None = None,
        allow_silence: bool = False,
    ) -> GenerationOutput | tuple:
        """Generate ``num_waveforms_per_prompt`` clips per prompt.

        Duration: ``seconds``, or ``audio_end_in_s - audio_start_in_s``, else what the prompt
        says ("8 seconds"), else the melody reference's length, else 10 s. The model is told
        the clip starts ``audio_start_in_s`` into a longer piece (Stable Audio's timing).

        ``prompt_embeds`` and the rest come from :meth:`encode_prompt` (one row per prompt;
        they are repeated here for ``num_waveforms_per_prompt``). ``latents``: the starting
        noise, ``(B x num_waveforms_per_prompt, C, frames)``. ``generator``: one per output (or
        ``seeds``) keeps each output independent of the batch; a single one is used for all.

        ``initial_audio_waveforms`` (``(B, channels, samples)`` or ``(B, samples)`` at
        ``initial_audio_sampling_rate`` = 44 100, one per prompt; StableAudioPipeline's names):
        start from that audio instead of noise alone, a variation of it. It is cropped or padded
        to the duration and kept to the degree ``1 - strength`` (0: returned as it is, 1:
        ignored; the flow is entered at time ``strength``, as SDEdit).

        ``callback_on_step_end(pipe, i, t, kwargs)`` runs after each denoising step with the
        tensors named in ``callback_on_step_end_tensor_inputs`` (``latents``) and returns them,
        changed or not; it may change ``pipe._guidance_scale``. ``callback(done, total)`` is the
        simpler progress hook, called every ``callback_steps`` steps and at the last.

        ``tempo_guidance_scale`` / ``key_guidance_scale`` guide the asked tempo and key apart
        from the words (:func:`~latentaudio.diffusion.guidance.guided`). None: each at 1.75 x
        ``guidance_scale`` (``TEMPO_GUIDANCE_RATIO``, ``KEY_GUIDANCE_RATIO``), which follows an
        asked tempo and key more closely. An own scale costs one more denoiser row per step (two
        when both differ), and only when some prompt asks for that tempo or key.

        ``melody`` / ``style``: one reference recording, 44.1 kHz ``(channels, samples)``, for
        every prompt, or a list with one per prompt. ``safety_check`` refuses prompts that name
        living artists (:mod:`latentaudio.conditioning.safety`); turn it off for research only.
        ``decoder``: how log-mel becomes audio (:mod:`latentaudio.decoders`; default
        ``hybrid``). A clip that comes out silent (nothing above BS.1770's absolute gate) is
        drawn again from its next seed (seed + k x ``SILENT_SEED_STRIDE``), up to
        ``MAX_SILENT_REDRAWS`` times, unless ``allow_silence`` or ``latents`` were given; the
        output's ``seeds`` are the ones used.
        """
        # 1. Check inputs.
        if prompt is None and prompt_embeds is None:
            raise LatentAudioError("give a prompt (or prompt_embeds from encode_prompt)")
        if prompt is not None and prompt_embeds is not None:
            raise LatentAudioError("give a prompt or prompt_embeds, not both")
        prompts = ([prompt] if isinstance(prompt, str) else list(prompt)) if prompt is not None \
            else [""] * prompt_embeds.shape[0]
        count = len(prompts) * num_waveforms_per_prompt
        melody = check_references(melody, len(prompts), "melody")
        style = check_references(style, len(prompts), "style")
        if not prompts:
            raise LatentAudioError("the prompt list is empty: give at least one prompt")
        if prompt_embeds is None:
            for text in prompts:
                check_prompt(text, safety_check=safety_check, allow_empty=style is not None)
        if num_inference_steps < 1:
            raise LatentAudioError(f"steps must be at least 1, got {num_inference_steps}")
        if num_waveforms_per_prompt < 1:
            raise LatentAudioError("num_waveforms_per_prompt must be at least 1")
        if output_type not in OUTPUT_TYPES:
            raise LatentAudioError(f"unknown output_type {output_type!r}: use one of "
                                   f"{', '.join(OUTPUT_TYPES)}")
        decoder = self.codec.check_decoder(decoder)
        for scale in (guidance_scale, tempo_guidance_scale, key_guidance_scale):
            if scale is not None:
                check_guidance(scale)
        if scheduler is not None and scheduler not in SCHEDULERS:
            raise LatentAudioError(f"unknown scheduler {scheduler!r}: use one of "
                                   f"{', '.join(SCHEDULERS)}")
        seconds = check_duration(seconds, audio_start_in_s, audio_end_in_s)
        tensor_inputs = callback_on_step_end_tensor_inputs or ["latents"]
        if not set(tensor_inputs) <= set(self._callback_tensor_inputs):
            raise LatentAudioError(f"callback_on_step_end_tensor_inputs may name only "
                                   f"{', '.join(self._callback_tensor_inputs)}")
        self._guidance_scale = guidance_scale
        self._music_guidance = (tempo_guidance_scale, key_guidance_scale)
        device = self._execution_device

        # 2. Parse prompts; explicit arguments override what the text says. Without a
        #    duration, a melody reference sets it (its tune, start to end).
        natural = (min(melody[0].shape[-1] / self.sample_rate, MAX_SECONDS)
                   if melody is not None else DEFAULT_SECONDS)
        specs = [resolve_prompt(text, seconds=seconds, default_seconds=natural, bpm=bpm, key=key,
                                limits=GENERATE_SECONDS) for text in prompts]
        if len({s.seconds for s in specs}) > 1:
            raise LatentAudioError("prompts in one batch must ask for the same duration")

        # 3. Encode the prompts (or take their embeddings) and any reference recordings, then
        #    repeat each for its waveforms.
        if prompt_embeds is None:  # the captions resolve_prompt already read out of the words
            prompt_embeds, attention_mask = self._encode_captions([s.caption for s in specs],
                                                                  device)
        states, negative_states, mask, negative_mask = self.encode_prompt(
            None, device, True, negative_prompt, prompt_embeds, negative_prompt_embeds,
            attention_mask, negative_attention_mask)
        if states.shape[0] != len(specs):
            raise LatentAudioError(f"{states.shape[0]} prompt embeddings for {len(specs)} "
                                   "prompts")
        condition, negative = self._conditioning(specs, states.to(device), mask,
                                                 negative_states.to(device), negative_mask,
                                                 audio_start_in_s)
        samples = round(specs[0].seconds * self.sample_rate)
        frames = self.vae.latent_frames(self.codec.mel.config.num_frames(samples))
        if melody is not None or style is not None:
            condition, negative = self.encode_references(specs, condition, negative, frames,
                                                         melody, style)
        order = [i for i in range(len(specs)) for _ in range(num_waveforms_per_prompt)]
        condition, negative = condition.select(order), negative.select(order)
        specs = [specs[i] for i in order]

        # 4. Starting noise: passed in, or one generator per output (from seeds, a list, or a
        #    single generator shared by all).
        shape = (count, self.vae.config.latent_channels, frames)
        generators = generators_for(generator, seeds, count)
        if latents is not None:
            if tuple(latents.shape) != shape:
                raise LatentAudioError(f"latents must have shape {shape} for this request, "
                                       f"got {tuple(latents.shape)}")
            latents = latents.to(device, integration_dtype(self.denoiser.dtype))
        initial = self._initial_audio(initial_audio_waveforms, initial_audio_sampling_rate,
                                      len(prompts), samples, strength)
        if initial is not None:
            initial = initial[order]
        if callback is not None and callback_steps != 1:
            if not (isinstance(callback_steps, int) and callback_steps >= 1):
                raise LatentAudioError(f"callback_steps must be a whole number of at least 1, "
                                       f"got {callback_steps}")
            progress_hook = callback

            def callback(done: int, total: int) -> None:
                if done % callback_steps == 0 or done == total:
                    progress_hook(done, total)

        # 5-8. Denoise, decode, master.
        def draw(items: list[int], generators: list[torch.Generator], start=None):
            return self._draw(condition.select(items), negative.select(items), generators,
                              frames, samples, start, steps=num_inference_steps,
                              initial=None if initial is None else initial[items],
                              strength=strength,
                              scheduler=scheduler, decoder=decoder, mastering=mastering,
                              output_type=output_type, progress=progress, callback=callback,
                              step_end=callback_on_step_end, tensor_inputs=tensor_inputs)

        audios, reports = draw(list(range(count)), generators, latents)
        if output_type == "latent":
            audios = torch.stack(audios)
            return GenerationOutput(audios, self.sample_rate, specs) if return_dict \
                else (audios,)

        # 9. Never a silent clip unasked: draw a silent item again from its next seed (or its
        #    generator's next numbers), up to MAX_SILENT_REDRAWS times.
        used = list(seeds) if seeds is not None else [None] * count
        redraws = [0] * count
        retries = 0 if allow_silence or latents is not None else MAX_SILENT_REDRAWS
        for attempt in range(1, retries + 1):
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
        if retries and any(r.loudness_case == "silent" for r in reports):
            tried = ", ".join(str(s) for s in (seeds or []))
            raise SilentOutputError(
                f"the model made silence {MAX_SILENT_REDRAWS + 1} times in a row"
                + (f" (from seeds {tried} on)" if tried else "")
                + ": try other words or another seed")
        audios = np.stack(audios)
        if output_type == "pt":
            audios = torch.from_numpy(audios)
        if not return_dict:
            return (audios,)
        return GenerationOutput(audios, self.sample_rate, specs, used, reports, redraws)

    def _initial_audio(self, waveforms, sampling_rate, prompts: int, samples: int,
                       strength: float) -> torch.Tensor | None:
        """StableAudioPipeline's initial audio -> its latents, one row per prompt."""
        fitted = fit_initial_audio(waveforms, sampling_rate, prompts, samples, strength,
                                   self.sample_rate)
        return None if fitted is None else self.codec.encode(fitted.to(self.vae.device))

    def _draw(self, condition: Conditioning, negative: Conditioning,
              generators: list[torch.Generator], frames: int, samples: int,
              start: torch.Tensor | None, *, steps: int, scheduler, decoder: str,
              mastering: MasteringConfig | None, output_type: str, progress: bool, callback,
              step_end, tensor_inputs: list[str], initial: torch.Tensor | None = None,
              strength: float = 1.0) -> tuple[list[Any], list[MasteringReport]]:
        """Steps 5-8 for the items of ``condition``: mastered ``(2, samples)`` clips (or the
        final latents, for ``output_type="latent"``)."""
        # 5. The initial noise for just the requested duration, drawn where the generators
        #    live, then placed on the execution device in the denoiser's dtype (fp32 under a
        #    16-bit denoiser, which then runs with its inputs cast down).
        denoiser, dtype = for_sampling(self.denoiser)
        device = self._execution_device
        if start is None:
            start = initial_noise((len(condition), self.vae.config.latent_channels, frames),
                                  generators).to(device, dtype)

        # 6. Denoise with classifier-free guidance (a named scheduler replaces the folder's for
        #    this call only).
        def on_step(index: int, timestep, latents: torch.Tensor) -> torch.Tensor:
            if step_end is None:
                return latents
            values = {"latents": latents}
            out = step_end(self, index, timestep, {k: values[k] for k in tensor_inputs})
            return (out or {}).get("latents", latents)

        self._num_timesteps = steps
        show = progress and not getattr(self, "_progress_bar_config", {}).get("disable")
        entry = {} if initial is None else {"start": strength,
                                             "start_latents": initial.to(device, dtype)}
        latents = sample(denoiser, start, condition, negative, steps=steps,
                         guidance=lambda: self._guidance_scale,
                         tempo_guidance=self._music_guidance[0],
                         key_guidance=self._music_guidance[1],
                         scheduler=scheduler or self.scheduler, progress=show,
                         callback=callback, step_end=on_step, **entry)
        if output_type == "latent":
            return list(latents), []

        # 7. Decode: latents -> log-mel -> waveform.
        audio = self.codec.decode(latents, samples, decoder).float().cpu().numpy()

        # 8. Post-process: exact length, fades, loudness, true-peak ceiling.
        mastered = [master(clip, self.sample_rate, samples, mastering) for clip in audio]
        return [clip for clip, _ in mastered], [report for _, report in mastered]


def parse_caption(text: str) -> str:
    """What of a prompt the text encoder reads: the words once duration, tempo and key are
    taken out (:func:`~latentaudio.conditioning.prompt.parse_prompt`)."""
    from latentaudio.conditioning.prompt import parse_prompt

    return parse_prompt(text).caption
