"""Editing with the text-to-audio model: inpaint a region, vary a clip, extend it, make a loop.

All four work with the shipped model as trained (no inpainting-specific conditioning), through
the two editing hooks of :func:`latentaudio.diffusion.flow.sample`:

- **vary** (SDEdit, Meng et al. 2022): the clip's latents are noised to flow time ``strength``
  and denoised towards the prompt. 0 returns the input itself; 1 ignores it.
- **inpaint** (replacement, as RePaint without resampling): latents outside the region are held
  to the input's at every step, so the region is generated to fit them; then the original audio
  is spliced back outside the region, with short raised-cosine crossfades at the two seams, so
  outside ``[start - crossfade, end + crossfade]`` the output *is* the input, sample for sample.
- **extend**: chunk-and-extend. Each window of 10 s (the training crop) keeps the last 5 s
  generated so far as known context and adds 5 s; the windows' timing conditioning says where in
  the piece they are. The input itself is kept up to a crossfade at its end.
- **loop**: generate N bars plus a short tail at the requested tempo, then crossfade the tail
  into the head (equal power), so the wrap-around seam joins audio that was generated
  contiguously. The result is exactly ``round(bars * beats * 60 / bpm * 44100)`` samples.

Levels: inpaint and extend scale the generated audio to the input's RMS where both exist;
vary matches the input's integrated loudness; loop is mastered like ``generate``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from latentaudio.conditioning.prompt import PromptSpec, resolve_prompt
from latentaudio.diffusion.flow import for_sampling, initial_noise, sample
from latentaudio.errors import LatentAudioError
from latentaudio.limits import check_prompt
from latentaudio.postprocess import (
    MasteringConfig,
    is_silent,
    limit_true_peak,
    loudness,
    master,
)
from latentaudio.watermark import DEFAULT_WATERMARK, WatermarkConfig

CROSSFADE_SECONDS = 0.05
WINDOW_SECONDS = 10.0  # extend: generated per window (the training crop length)
CONTEXT_SECONDS = 5.0  # extend: known context carried into each window
MAX_EXTEND_SECONDS = 600.0
LOOP_TAIL_SECONDS = 0.5


@dataclass
class EditOutput:
    audio: np.ndarray  # (2, samples) float32
    sample_rate: int
    seed: int
    spec: PromptSpec
    details: dict = field(default_factory=dict)  # what was done, for the sidecar


MIN_INPUT_SECONDS = 0.5  # shorter inputs leave the edits nothing to work on


def check_input_length(seconds: float) -> None:
    if not seconds >= MIN_INPUT_SECONDS:
        raise LatentAudioError(f"the input is {seconds:.2f} s long, shorter than "
                               f"{MIN_INPUT_SECONDS:g} s: nothing to edit")


def check_strength(strength: float) -> None:
    if not 0.0 <= strength <= 1.0:
        raise LatentAudioError(f"strength must be between 0 and 1, got {strength:g}")


def check_region(start: float, end: float, length: float) -> None:
    if not 0.0 <= start < end <= length + 1e-9:
        raise LatentAudioError(
            f"the region {start:g}-{end:g} s is not inside the clip (0-{length:.3f} s, "
            "start before end)")


def check_loop(bpm: float, bars: int, beats_per_bar: int) -> float:
    """The loop's length in seconds, or a one-line error: bars x beats x 60 / bpm must be 0.5 s
    to the generator's longest clip less the crossfade tail (and bpm a sane tempo)."""
    from latentaudio.limits import GENERATE_SECONDS

    if not (0 < bpm <= 1000 and bars >= 1 and beats_per_bar >= 1):  # NaN fails too
        raise LatentAudioError("bpm (up to 1000), bars and beats per bar must be positive")
    seconds = bars * beats_per_bar * 60.0 / bpm
    longest = GENERATE_SECONDS[1] - LOOP_TAIL_SECONDS
    if not 0.5 <= seconds <= longest:
        raise LatentAudioError(f"{bars} bars of {beats_per_bar} at {bpm:g} bpm is {seconds:.2f} s:"
                               f" a loop must be 0.5 to {longest:g} s")
    return seconds


def check_extension(seconds: float, have: float) -> None:
    if seconds <= have:
        raise LatentAudioError(f"the total length {seconds:g} s is not longer than the input "
                               f"({have:.2f} s): ask for the input's length plus the new part")
    if seconds > MAX_EXTEND_SECONDS:
        raise LatentAudioError(f"the total length {seconds:g} s is too long: at most "
                               f"{MAX_EXTEND_SECONDS:g} s")


def _raised_cosine(length: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, length))).astype(np.float32)


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0


def _match_rms(generated: np.ndarray, audio: np.ndarray, where) -> np.ndarray:
    """Scale ``generated`` so its RMS over ``where`` (an index into the last axis) equals the
    input's there; unchanged when either is silent."""
    reference, ours = _rms(audio[:, where]), _rms(generated[:, where])
    return generated * np.float32(reference / ours) if reference > 0 and ours > 0 else generated


class Editor:
    """Editing operations on top of a :class:`~latentaudio.pipeline.LatentAudioPipeline`."""

    def __init__(self, pipe, watermark: WatermarkConfig | None = DEFAULT_WATERMARK,
                 safety_check: bool = True,
                 callback: Callable[[int, int], None] | None = None,
                 decoder: str | None = None) -> None:
        self.pipe = pipe
        self.decoder = pipe.codec.check_decoder(decoder)  # latentaudio.decoders.DECODERS
        self.callback = callback  # (done, total) after each denoising step of an operation
        self.safety_check = safety_check  # refuse prompts naming living artists
        self.codec = pipe.codec
        self.rate = pipe.sample_rate
        self.watermark = watermark  # marks what each operation makes, never the input's part

    def _mark(self, out: np.ndarray, keep: np.ndarray | None = None,
              original: np.ndarray | None = None) -> np.ndarray:
        """Watermark ``out``; where ``keep`` (samples,) is True the input stays sample for
        sample (the mark's carrier is tied to sample 0, so the new parts line up)."""
        if self.watermark is None:
            return out
        marked = np.clip(self.watermark.apply(out), -1.0, 1.0)
        return marked if keep is None else np.where(keep, original, marked)

    # ----------------------------------------------------------------------------- helpers
    def _spec(self, prompt: str, seconds: float, bpm: float | None, key: str | None) -> PromptSpec:
        check_prompt(prompt, safety_check=self.safety_check)
        return resolve_prompt(prompt, seconds=seconds, default_seconds=None, bpm=bpm, key=key)

    def _conditions(self, spec: PromptSpec, negative: str | None, seconds_start: float = 0.0,
                    seconds_total: float | None = None):
        condition, negative_condition = self.pipe.encode_conditioning([spec], negative)
        for c in (condition, negative_condition):
            c.globals.seconds_start.fill_(seconds_start)
            if seconds_total is not None:
                c.globals.seconds_total.fill_(seconds_total)
        return condition, negative_condition

    def _noise(self, frames: int, seed: int) -> torch.Tensor:
        channels = self.pipe.vae.config.latent_channels
        return initial_noise((1, channels, frames), [torch.Generator().manual_seed(seed)])

    def _denoise(self, noise, condition, negative, steps, guidance, progress, **hooks):
        denoise, dtype = for_sampling(self.pipe.denoiser)
        for name in ("start_latents", "known"):
            if hooks.get(name) is not None:
                hooks[name] = hooks[name].to(dtype)
        return sample(denoise, noise.to(dtype), condition, negative, steps=steps,
                      guidance=guidance, scheduler=self.pipe.scheduler, progress=progress,
                      callback=hooks.pop("callback", self.callback), **hooks).float()

    def _encode(self, audio: np.ndarray) -> torch.Tensor:
        audio = self._check_audio(audio)
        with torch.no_grad():
            return self.codec.encode(torch.from_numpy(audio)[None])

    def _check_audio(self, audio: np.ndarray) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 2 or audio.shape[0] != 2:
            raise LatentAudioError(f"expected stereo audio (2, samples), got {audio.shape}")
        check_input_length(audio.shape[-1] / self.rate)
        return audio

    def _window_callback(self, index: int, windows: int):
        """The callback of window ``index`` of ``windows``, counting steps over all of them."""
        if self.callback is None:
            return None
        return lambda done, total: self.callback(index * total + done, windows * total)

    def _until_audible(self, make, seed: int, part: slice) -> tuple[np.ndarray, int, int]:
        """``make(seed)`` -> generated ``(2, samples)``; drawn again from seed + k x
        ``SILENT_SEED_STRIDE`` while its new ``part`` is silent, as the pipeline does. Returns
        the audio, the seed used and how many redraws it took."""
        from latentaudio.pipeline import MAX_SILENT_REDRAWS, SILENT_SEED_STRIDE

        for attempt in range(MAX_SILENT_REDRAWS + 1):
            used = seed + attempt * SILENT_SEED_STRIDE
            generated = make(used)
            if not is_silent(generated[:, part], self.rate):
                return generated, used, attempt
        raise LatentAudioError(f"the model made silence {MAX_SILENT_REDRAWS + 1} times in a row "
                               f"(from seed {seed} on): try other words or another seed")

    # -------------------------------------------------------------------------- operations
    def vary(self, audio: np.ndarray, prompt: str, strength: float, *, seed: int = 0,
             steps: int = 12, guidance: float = 4.0, negative: str | None = None,
             bpm: float | None = None, key: str | None = None,
             progress: bool = True) -> EditOutput:
        """Audio-to-audio: ``strength`` 0 gives the input back, 1 ignores it."""
        check_strength(strength)
        audio = self._check_audio(audio)
        samples = audio.shape[-1]
        spec = self._spec(prompt, samples / self.rate, bpm, key)
        details = {"operation": "vary", "strength": strength}
        if strength == 0.0:
            return EditOutput(audio.copy(), self.rate, seed, spec, details)
        latents = self._encode(audio)
        condition, negative_condition = self._conditions(spec, negative)

        def make(draw_seed: int) -> np.ndarray:
            varied = self._denoise(self._noise(latents.shape[-1], draw_seed), condition,
                                   negative_condition, steps, guidance, progress,
                                   start=strength, start_latents=latents)
            with torch.no_grad():
                return self.codec.decode(varied, samples, self.decoder)[0].numpy()

        out, seed, details["silent_redraws"] = self._until_audible(make, seed, slice(None))
        target = loudness(audio, self.rate)
        config = MasteringConfig(target_lufs=target if np.isfinite(target) else -14.0,
                                 watermark=self.watermark)
        out, _ = master(out, self.rate, samples, config)
        return EditOutput(out, self.rate, seed, spec, details)

    def inpaint(self, audio: np.ndarray, prompt: str, start: float, end: float, *,
                seed: int = 0, steps: int = 12, guidance: float = 4.0,
                negative: str | None = None, crossfade: float = CROSSFADE_SECONDS,
                bpm: float | None = None, key: str | None = None,
                progress: bool = True) -> EditOutput:
        """Regenerate ``[start, end)`` seconds; the rest is the input, sample for sample."""
        audio = self._check_audio(audio)
        samples = audio.shape[-1]
        length = samples / self.rate
        check_region(start, end, length)
        fade = max(1, round(crossfade * self.rate))
        first, last = round(start * self.rate), min(samples, round(end * self.rate))
        # Latent frames touching [first - fade, last + fade), plus one either side: generated.
        per_frame = self.pipe.vae.samples_per_latent
        latents = self._encode(audio)
        frames = latents.shape[-1]
        lo = max(0, (first - fade) // per_frame - 1)
        hi = min(frames, -(-(last + fade) // per_frame) + 1)
        known = torch.ones(1, 1, frames, dtype=torch.bool)
        known[..., lo:hi] = False
        spec = self._spec(prompt, length, bpm, key)
        condition, negative_condition = self._conditions(spec, negative)

        def make(draw_seed: int) -> np.ndarray:
            generated_latents = self._denoise(self._noise(frames, draw_seed), condition,
                                              negative_condition, steps, guidance, progress,
                                              known=latents, known_mask=known)
            with torch.no_grad():
                return self.codec.decode(generated_latents, samples, self.decoder)[0].numpy()

        generated, seed, redraws = self._until_audible(make, seed, slice(first, last))
        # Level: the generated clip's RMS outside the region onto the input's there.
        outside = np.ones(samples, dtype=bool)
        outside[max(0, first - fade): last + fade] = False
        generated = np.clip(_match_rms(generated, audio, outside), -1.0, 1.0)
        weight = np.zeros(samples, dtype=np.float32)
        weight[first:last] = 1.0
        ramp = _raised_cosine(fade)
        up_from = max(0, first - fade)
        weight[up_from:first] = ramp[fade - (first - up_from):]
        down_to = min(samples, last + fade)
        weight[last:down_to] = ramp[::-1][: down_to - last]
        out = np.where(weight == 0.0, audio, audio * (1 - weight) + generated * weight)
        out = self._mark(out, weight == 0.0, audio)
        details = {"operation": "inpaint", "start": start, "end": end, "crossfade": crossfade,
                   "latent_frames_generated": [int(lo), int(hi)], "silent_redraws": redraws}
        return EditOutput(out.astype(np.float32), self.rate, seed, spec, details)

    def extend(self, audio: np.ndarray, prompt: str, seconds: float, *, seed: int = 0,
               steps: int = 12, guidance: float = 4.0, negative: str | None = None,
               bpm: float | None = None, key: str | None = None,
               progress: bool = True) -> EditOutput:
        """Continue ``audio`` to ``seconds`` in all (the input is kept as it is)."""
        from tqdm import tqdm

        audio = self._check_audio(audio)
        have = audio.shape[-1]
        samples = round(seconds * self.rate)
        check_extension(seconds, have / self.rate)
        per_frame = self.pipe.vae.samples_per_latent
        rate = self.rate / per_frame  # latent frames per second
        window, context = round(WINDOW_SECONDS * rate), round(CONTEXT_SECONDS * rate)
        encoded = self._encode(audio)
        needed = self.pipe.vae.latent_frames(self.codec.mel.config.num_frames(samples))
        spec = self._spec(prompt, seconds, bpm, key)
        windows = math.ceil(max(0, needed - encoded.shape[-1]) / (window - context))

        def make(draw_seed: int) -> np.ndarray:
            latents = encoded
            for index in tqdm(range(windows), desc="extending", unit="window",
                              disable=not progress):
                known_frames = min(context, latents.shape[-1])
                start_frame = latents.shape[-1] - known_frames
                condition, negative_condition = self._conditions(
                    spec, negative, seconds_start=start_frame / rate, seconds_total=seconds)
                known = torch.zeros(1, latents.shape[1], window)
                known[..., :known_frames] = latents[..., start_frame:]
                mask = torch.zeros(1, 1, window, dtype=torch.bool)
                mask[..., :known_frames] = True
                new = self._denoise(self._noise(window, draw_seed + 7919 * index), condition,
                                    negative_condition, steps, guidance, False, known=known,
                                    known_mask=mask,
                                    callback=self._window_callback(index, windows))
                latents = torch.cat([latents, new[..., known_frames:]], dim=-1)
            with torch.no_grad():
                return self.codec.decode(latents[..., :needed], samples,
                                         self.decoder)[0].numpy()

        generated, seed, redraws = self._until_audible(make, seed, slice(have, None))
        # Level: the decoded copy of the input's last seconds onto the input itself.
        span = slice(max(0, have - round(CONTEXT_SECONDS * self.rate)), have)
        generated = _match_rms(generated, audio, span)
        generated, _, _ = limit_true_peak(generated, self.rate, -1.0)  # the new part only
        fade = min(round(CROSSFADE_SECONDS * self.rate), have)
        out = generated.copy()
        out[:, : have - fade] = audio[:, : have - fade]
        ramp = _raised_cosine(fade)
        out[:, have - fade: have] = (audio[:, have - fade:] * (1 - ramp)
                                     + generated[:, have - fade: have] * ramp)
        keep = np.zeros(out.shape[-1], dtype=bool)
        keep[: have - fade] = True
        padded = np.zeros_like(out)
        padded[:, :have] = audio
        out = self._mark(out, keep, padded)
        details = {"operation": "extend", "input_seconds": have / self.rate,
                   "windows": windows, "window_seconds": WINDOW_SECONDS,
                   "context_seconds": CONTEXT_SECONDS, "silent_redraws": redraws}
        return EditOutput(out.astype(np.float32), self.rate, seed, spec, details)

    def loop(self, prompt: str, bpm: float, bars: int, *, beats_per_bar: int = 4,
             seed: int = 0, steps: int = 12, guidance: float = 4.0,
             negative: str | None = None, key: str | None = None, lufs: float = -14.0,
             progress: bool = True) -> EditOutput:
        """A seamless loop of exactly ``bars`` bars at ``bpm``."""
        samples = round(check_loop(bpm, bars, beats_per_bar) * self.rate)
        tail = min(round(LOOP_TAIL_SECONDS * self.rate), samples // 4)
        seconds = (samples + tail) / self.rate
        result = self.pipe(prompt, seconds=seconds, bpm=bpm, key=key, negative_prompt=negative,
                           num_inference_steps=steps, guidance_scale=guidance, seeds=[seed],
                           mastering=MasteringConfig(target_lufs=lufs, fade_in_seconds=0.0,
                                                     fade_out_seconds=0.0,
                                                     watermark=self.watermark),
                           progress=progress, callback=self.callback, decoder=self.decoder)
        audio = result.audios[0]
        out = audio[:, :samples].copy()
        x = np.linspace(0.0, 1.0, tail, endpoint=False, dtype=np.float64)
        fade_in, fade_out = np.sin(0.5 * np.pi * x), np.cos(0.5 * np.pi * x)
        out[:, :tail] = (audio[:, :tail] * fade_in + audio[:, samples: samples + tail]
                         * fade_out).astype(np.float32)
        details = {"operation": "loop", "bpm": bpm, "bars": bars,
                   "beats_per_bar": beats_per_bar, "samples": samples,
                   "tail_seconds": tail / self.rate}
        details["silent_redraws"] = result.silent_redraws[0]
        return EditOutput(out.astype(np.float32), self.rate, result.seeds[0], result.specs[0],
                          details)
