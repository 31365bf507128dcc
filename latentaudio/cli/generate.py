"""``latentaudio generate``: prompt in, mastered audio files (and JSON sidecars) out."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from latentaudio.cli.common import (
    Command,
    add_decoder_option,
    add_responsibility_options,
    add_sampling_options,
    add_token_sampling_options,
    audio_output,
    check_writable,
    guidance_scale,
    loudness_target,
    positive_float,
    positive_int,
    watermark_config,
)
from latentaudio.errors import LatentAudioError

CANDIDATE_STRIDE = 1_000_003  # seed offset between the candidates of one output

EXAMPLES = """\
examples:
  latentaudio generate "heavy rain on a tin roof" --seconds 8
  latentaudio generate "upbeat rock groove with distorted guitar, 128 bpm, E minor" -n 3
  latentaudio generate "calm ambient pad" --negative "drums" --cfg 5 -o pad.flac
  latentaudio generate "a dog barking twice" --candidates 4   # keep the best of 4 by CLAP
  latentaudio generate "warm electric piano" --melody hummed.wav   # hum it; restyle it
  latentaudio generate --style reference.wav                # sounds like this clip, no words

The prompt may carry its own tags ("10 seconds", "120 bpm", "A minor"); --seconds, --bpm and
--key override them. The same prompt, seed and settings give the same samples (the files
differ only in the creation time their metadata records)."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("prompt", nargs="?", default="",
                        help="what to generate, in words (may be left out with --style)")
    parser.add_argument("--seconds", type=positive_float, default=None,
                        help="duration, 0.5 to 47 (default: from the prompt, else 10)")
    add_sampling_options(parser)
    parser.add_argument("-n", "--count", type=positive_int, default=1,
                        help="how many variations (seeds seed, seed+1, ...)")
    parser.add_argument("--bpm", type=positive_float, default=None, help="tempo for music")
    parser.add_argument("--key", default=None, help='key for music, e.g. "A minor"')
    parser.add_argument("--tempo-cfg", type=guidance_scale, default=None, metavar="SCALE",
                        help="guidance scale of the tempo alone (default: 1.75 x --cfg); another "
                        "value costs one more denoiser row a step for prompts with a bpm")
    parser.add_argument("--key-cfg", type=guidance_scale, default=None, metavar="SCALE",
                        help="guidance scale of the key alone (default: 1.75 x --cfg, which "
                        "follows an asked key more closely, at one more denoiser row a step "
                        "for prompts with a key)")
    parser.add_argument("--lufs", type=loudness_target, default=-14.0,
                        help="loudness target in LUFS (default: %(default)s)")
    parser.add_argument("--scheduler", choices=["dpm++", "euler"], default="dpm++",
                        help="sampler (default: %(default)s)")
    parser.add_argument("--melody", type=Path, default=None, metavar="REF",
                        help="follow the tune of this recording (its dominant pitch class per "
                        "frame, MusicGen-Melody style); without --seconds, its length sets the "
                        "duration")
    parser.add_argument("--style", type=Path, default=None, metavar="REF",
                        help="sound like this recording (conditions on its audio embedding); "
                        "the prompt may then be left out")
    parser.add_argument("--backend", choices=["diffusion", "ar"], default="diffusion",
                        help="generator: latent diffusion (default) or the token-AR backend "
                        "(--checkpoint DIR; sampling options as in 'latentaudio song')")
    add_token_sampling_options(parser)
    parser.add_argument("--candidates", type=positive_int, default=1,
                        help="generate this many per output and keep the one whose CLAP score "
                        "(prompt-audio similarity) is best; the sidecar records the kept seed "
                        "(default: %(default)s)")
    parser.add_argument("--clap", type=Path, default=None,
                        help="CLAP model for --candidates (default: checkpoints/latentaudio-clap)")
    add_decoder_option(parser)
    add_responsibility_options(parser)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="model folder (default: the shipped checkpoints/latentaudio-small)")
    parser.add_argument("-o", "--out", type=audio_output, default=None,
                        help="output file (default: from the prompt and seed, in this folder)")
    parser.add_argument("--format", choices=["wav", "flac", "ogg", "mp3"], default=None,
                        help="audio format (default: from --out's extension, else wav)")


def _slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:48].rstrip("-") or "clip"


def _outputs(args: argparse.Namespace, seeds: list[int]) -> list[Path]:
    suffix = f".{args.format}" if args.format else (args.out.suffix if args.out else ".wav")
    if args.out is None:
        return [Path(f"{_slug(args.prompt or args.style.stem)}-s{seed}{suffix}") for seed in seeds]
    base = args.out.with_suffix(suffix)
    if len(seeds) == 1:
        return [base]
    return [base.with_name(f"{base.stem}-{i + 1}{suffix}") for i in range(len(seeds))]


def _generate(args: argparse.Namespace) -> None:
    from latentaudio.adapters import apply_adapters, resolve
    from latentaudio.generation import load_pipeline, model_identity
    from latentaudio.postprocess import MasteringConfig
    from latentaudio.render import with_adapters, write_clip
    from latentaudio.request import Request

    if args.backend == "ar":
        return _generate_ar(args)
    if not args.prompt.strip() and args.style is None:
        raise LatentAudioError("give a prompt (what to generate, in words) or --style REF")
    if not args.prompt.strip() and args.candidates > 1:
        raise LatentAudioError("--candidates ranks clips against the prompt: give one")
    request = Request(operation="generate", prompt=args.prompt, seconds=args.seconds,
                      seed=args.seed, steps=args.steps, cfg=args.cfg, negative=args.negative,
                      bpm=args.bpm, key=args.key, tempo_cfg=args.tempo_cfg,
                      key_cfg=args.key_cfg, lufs=args.lufs, decoder=args.decoder, lora=args.lora,
                      watermark=not args.no_watermark, safety_filter=not args.no_safety_filter
                      ).check(wordless=args.style is not None)
    references = {name: _reference(getattr(args, name)) for name in ("melody", "style")}
    clap = _clap(args) if args.candidates > 1 else None
    seeds = [request.seed + i for i in range(args.count)]
    paths = _outputs(args, seeds)
    for path in paths:
        check_writable(path)
    pipe, folder = load_pipeline(args.checkpoint)
    identity = with_adapters(model_identity(folder), apply_adapters(pipe, resolve(args.lora)))
    # Candidate j of output i has seed seeds[i] + j * CANDIDATE_STRIDE; with one generator per
    # sample, the kept clip is what '--seed KEPT --candidates 1' gives (up to float rounding
    # between batch sizes).
    tried = [seed + j * CANDIDATE_STRIDE for seed in seeds for j in range(args.candidates)]
    result = pipe([args.prompt] * len(tried), seconds=args.seconds, bpm=args.bpm,
                  key=request.key, negative_prompt=args.negative, num_inference_steps=args.steps,
                  guidance_scale=args.cfg, tempo_guidance_scale=args.tempo_cfg,
                  key_guidance_scale=args.key_cfg, seeds=tried,
                  mastering=MasteringConfig(target_lufs=args.lufs,
                                            watermark=watermark_config(args)),
                  scheduler=args.scheduler, decoder=args.decoder,
                  **references, safety_check=not args.no_safety_filter, progress=not args.quiet)
    kept, scores = list(range(len(tried))), [None] * len(tried)
    if clap is not None:
        values = clap.score(list(result.audios), [args.prompt] * len(tried))
        kept = [i * args.candidates + int(values[i * args.candidates:(i + 1) * args.candidates]
                                          .argmax()) for i in range(len(seeds))]
        scores = [float(v) for v in values]
    for path, index in zip(paths, kept, strict=True):
        spec, report = result.specs[index], result.mastering[index]
        details = {"genre": spec.genre, "scheduler": args.scheduler, "lufs_target": args.lufs,
                   "lufs_measured": round(report.loudness_after, 2),
                   "loudness_case": report.loudness_case,
                   "silent_redraws": result.silent_redraws[index],
                   "true_peak_dbtp": round(report.true_peak_dbtp, 2)}
        for name in references:
            if getattr(args, name) is not None:
                details[name] = str(getattr(args, name))
        if clap is not None:
            details |= {"candidates": args.candidates, "clap_score": round(scores[index], 4)}
        # The seed used: tried[index], unless a silent draw was made again.
        made = request.replace(seed=result.seeds[index])
        written, _, _ = write_clip(path, result.audios[index], made, spec, details,
                                   model=identity, decoder=pipe.codec.check_decoder(args.decoder),
                                   sample_rate=result.sample_rate, watermark=report.watermark,
                                   audio_format=args.format)
        print(f"wrote {written} ({spec.seconds:g} s, seed {made.seed})")


def _generate_ar(args: argparse.Namespace) -> None:
    from latentaudio.cli.song import render

    unsupported = [name for name, given in (("--melody", args.melody), ("--style", args.style),
                                            ("--candidates", args.candidates > 1),
                                            ("--negative", args.negative),
                                            ("--lora", args.lora),
                                            ("-n", args.count > 1)) if given]
    if unsupported:
        raise LatentAudioError(f"{', '.join(unsupported)} work with the diffusion backend only")
    if args.out is None:
        raise LatentAudioError("--backend ar needs -o OUT")
    if args.cfg == 4.0:  # the diffusion default; the token logits' is 3
        args.cfg = 3.0
    render(args, args.prompt, None, args.seconds or 10.0, "generate")


def _reference(path: Path | None):
    """The reference recording at 44.1 kHz, or None; unreadable files fail in one line."""
    if path is None:
        return None
    from latentaudio.audio import load_audio

    return load_audio(path)


def _clap(args: argparse.Namespace):
    from latentaudio.evaluation.clap import DEFAULT_CLAP, LatentAudioClap

    folder = args.clap or DEFAULT_CLAP
    if not (folder / "config.json").is_file():
        raise LatentAudioError(f"--candidates needs a CLAP model and there is none at {folder}: "
                               "pass --clap DIR (made by 'latentaudio train clap')")
    return LatentAudioClap.from_pretrained(folder)


COMMANDS = [Command("generate", "generate audio from a text prompt", _arguments, _generate)]
