"""One request, start to finish: generate or edit with the diffusion pipeline, then write the audio,
its provenance and its JSON sidecar. What ``latentaudio inpaint|vary|extend|loop``, ``latentaudio
batch`` and the server's workers all run, so a clip made any of these ways is made the same way.

A :class:`Request` is checked (:meth:`Request.check`) before any model is loaded, so bad values
fail in one line at once rather than after a model load or a queue wait.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from latentaudio.request import Request


def render(pipe, request: Request, out: Path, *, model: dict, audio: np.ndarray | None = None,
           input_name: str | None = None, audio_format: str | None = None,
           callback: Callable[[int, int], None] | None = None,
           progress: bool = False, lora_dir: Path | None = None
           ) -> tuple[Path, dict, np.ndarray]:
    """Make ``request`` (already :meth:`~Request.check`-ed) with ``pipe`` and write it to ``out``
    (atomically, with the provenance record inside and a ``.json`` sidecar beside it). ``model``
    is :func:`latentaudio.generation.model_identity` of the pipeline's folder. Returns the path
    written, the sidecar and the audio ``(2, samples)``. The request's LoRA adapters (names in
    ``lora_dir`` when given: a server's) are made the active ones on ``pipe`` first."""
    from latentaudio.adapters import apply_adapters, resolve
    from latentaudio.editing import Editor
    from latentaudio.postprocess import MasteringConfig
    from latentaudio.watermark import WatermarkConfig

    r = request
    model = with_adapters(model, apply_adapters(pipe, resolve(r.lora, lora_dir)))
    watermark = WatermarkConfig() if r.watermark else None
    common = {"seed": r.seed, "steps": r.steps, "guidance": r.cfg, "negative": r.negative,
              "key": r.key, "progress": progress}
    if r.operation == "generate":
        result = pipe(r.prompt, seconds=r.seconds, bpm=r.bpm, key=r.key,
                      negative_prompt=r.negative, num_inference_steps=r.steps,
                      guidance_scale=r.cfg, tempo_guidance_scale=r.tempo_cfg,
                      key_guidance_scale=r.key_cfg, seeds=[r.seed],
                      mastering=MasteringConfig(target_lufs=r.lufs, watermark=watermark),
                      safety_check=r.safety_filter, progress=progress, callback=callback,
                      decoder=r.decoder)
        clip, spec, report = result.audios[0], result.specs[0], result.mastering[0]
        r = r.replace(seed=result.seeds[0])  # the seed used (silence redraws)
        details = {"operation": "generate", "lufs_target": r.lufs,
                   "silent_redraws": result.silent_redraws[0],
                   "lufs_measured": round(report.loudness_after, 2),
                   "loudness_case": report.loudness_case,
                   "true_peak_dbtp": round(report.true_peak_dbtp, 2)}
        mark = report.watermark
    else:
        editor = Editor(pipe, watermark=watermark, safety_check=r.safety_filter,
                        callback=callback, decoder=r.decoder)
        if r.operation == "inpaint":
            result = editor.inpaint(audio, r.prompt, r.start, r.end, bpm=r.bpm, **common)
        elif r.operation == "vary":
            result = editor.vary(audio, r.prompt, r.strength, bpm=r.bpm, **common)
        elif r.operation == "extend":
            result = editor.extend(audio, r.prompt, r.seconds, bpm=r.bpm, **common)
        else:
            result = editor.loop(r.prompt, r.bpm, r.bars, beats_per_bar=r.beats_per_bar,
                                 lufs=r.lufs, **common)
        clip, spec, details = result.audio, result.spec, result.details
        r = r.replace(seed=result.seed)  # a loop's silence redraws
        mark = watermark.id if watermark is not None else None
    return write_clip(out, clip, r, spec, details | {"input": input_name}, model=model,
                      decoder=pipe.codec.check_decoder(r.decoder), sample_rate=pipe.sample_rate,
                      watermark=mark, audio_format=audio_format)


def with_adapters(model: dict, records: list[dict]) -> dict:
    """The model identity that sidecars and provenance record, with the adapters in use."""
    return model | {"lora": records} if records else model


def write_clip(out: Path, clip: np.ndarray, r: Request, spec, details: dict, *, model: dict,
               decoder: str, sample_rate: int, watermark: str | None,
               audio_format: str | None = None) -> tuple[Path, dict, np.ndarray]:
    """Write one made clip as every path writes it: the audio (atomically, its provenance
    record inside) and a ``.json`` sidecar of the request, what the prompt was parsed into
    (``spec``), the operation's ``details`` and the model. Returns what :func:`render` does."""
    from latentaudio import __version__
    from latentaudio.provenance import provenance, save_output

    record = provenance(operation=r.operation, prompt=r.prompt, seed=r.seed, model=model,
                        watermark=watermark)
    scales = {"tempo_cfg": r.tempo_cfg, "key_cfg": r.key_cfg}
    from latentaudio.diffusion.guidance import default_key_scale, default_tempo_scale

    if r.operation != "song" and r.cfg != 1.0:  # the defaults, as run (songs have none)
        if spec.key and r.key_cfg is None:
            scales["key_cfg"] = default_key_scale(r.cfg)
        if spec.bpm and r.tempo_cfg is None:
            scales["tempo_cfg"] = default_tempo_scale(r.cfg)
    sidecar = {"operation": r.operation, **details, "prompt": r.prompt,
               "caption": spec.caption, "seconds": clip.shape[-1] / sample_rate,
               "bpm": spec.bpm, "key": spec.key, "seed": r.seed, "steps": r.steps, "cfg": r.cfg,
               **{name: value for name, value in scales.items() if value is not None},
               "negative": r.negative, "decoder": decoder, "sample_rate": sample_rate,
               "model": model, "latentaudio_version": __version__}
    written = save_output(out, clip, audio_format, sidecar, record)
    return written, sidecar | {"provenance": record}, clip
