"""``latentaudio song``: long-form music (with lyrics) from the token-AR backend; also what
``latentaudio generate --backend ar`` runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentaudio.cli.common import (
    Command,
    add_decoder_option,
    add_responsibility_options,
    add_token_sampling_options,
    audio_output,
    check_writable,
    guidance_scale,
    loudness_target,
    positive_float,
    seed_value,
    watermark_config,
)

EXAMPLES = """\
examples:
  latentaudio song "upbeat indie pop, 120 bpm, A major" --lyrics lyrics.txt -o song.wav
  latentaudio song "calm piano instrumental" --seconds 90 -o piano.flac

Lyrics (text or a file) may mark sections with [intro], [verse], [pre-chorus], [chorus],
[bridge], [outro] lines; they are sung in order over the song. English is phonemised best
(--language en-us); espeak-ng's other languages work as input, but the shipped model
(checkpoints/latentaudio-ar) only heard English, and its words are not yet intelligible. Your
own model: --checkpoint DIR (made with 'latentaudio train tokens|coarse|fine' and 'train
assemble-ar')."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("prompt", help="the music, in words (genre, instruments, mood, tags)")
    parser.add_argument("--lyrics", default=None, metavar="TEXT|FILE",
                        help="lyrics text, or a file holding it")
    parser.add_argument("--language", default="en-us", help="lyrics language (espeak-ng voice)")
    parser.add_argument("--seconds", type=positive_float, default=120.0,
                        help="duration, 1 to 300 (default: %(default)s)")
    parser.add_argument("--bpm", type=positive_float, default=None, help="tempo")
    parser.add_argument("--key", default=None, help='key, e.g. "A minor"')
    parser.add_argument("--seed", type=seed_value, default=None,
                        help="random seed (default: a fresh one, written to the sidecar)")
    parser.add_argument("--cfg", type=guidance_scale, default=3.0,
                        help="guidance on the token logits; 1 = none (default: %(default)s)")
    parser.add_argument("--key-cfg", type=guidance_scale, default=None,
                        help="the key's own guidance scale, when a key is asked: one more "
                        "token row (default: --cfg, none of its own)")
    add_token_sampling_options(parser)
    parser.add_argument("--lufs", type=loudness_target, default=-14.0,
                        help="loudness target in LUFS (default: %(default)s)")
    add_decoder_option(parser)
    add_responsibility_options(parser)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="token-AR model folder (default: checkpoints/latentaudio-ar)")
    parser.add_argument("-o", "--out", type=audio_output, required=True, help="output file")
    parser.add_argument("--format", choices=["wav", "flac", "ogg", "mp3"], default=None,
                        help="audio format (default: from --out's extension)")


def _lyrics(value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value)
    if len(value) < 4096 and "\n" not in value and path.suffix and path.is_file():
        return path.read_text(encoding="utf-8")
    return value


def render(args: argparse.Namespace, prompt: str, lyrics: str | None, seconds: float,
           operation: str) -> Path:
    """Generate with the token backend and write the file, sidecar and provenance."""
    from latentaudio.generation import load_token_pipeline, model_identity
    from latentaudio.postprocess import MasteringConfig
    from latentaudio.render import write_clip
    from latentaudio.request import Request

    request = Request(operation="song", prompt=prompt, lyrics=lyrics, seconds=seconds,
                      seed=args.seed, cfg=args.cfg, key_cfg=args.key_cfg, bpm=args.bpm,
                      key=args.key, lufs=args.lufs,
                      decoder=args.decoder, watermark=not args.no_watermark,
                      safety_filter=not args.no_safety_filter).check()
    check_writable(args.out)
    pipe, folder = load_token_pipeline(args.checkpoint)
    result = pipe(prompt, seconds=seconds, bpm=args.bpm, key=request.key, lyrics=lyrics,
                  language=getattr(args, "language", "en-us"), seed=request.seed,
                  guidance=args.cfg, key_guidance=args.key_cfg, temperature=args.temperature,
                  top_k=args.top_k,
                  top_p=args.top_p,
                  mastering=MasteringConfig(target_lufs=args.lufs,
                                            watermark=watermark_config(args)),
                  safety_check=not args.no_safety_filter, progress=not args.quiet,
                  decoder=args.decoder)
    spec, report = result.specs[0], result.mastering[0]
    details = {"backend": "ar", "lyrics": lyrics, "temperature": args.temperature,
               "top_k": args.top_k, "top_p": args.top_p, "lufs_target": args.lufs,
               "lufs_measured": round(report.loudness_after, 2),
               "loudness_case": report.loudness_case}
    if result.lyrics_schedule:
        details["lyrics_schedule"] = result.lyrics_schedule[0]
    written, _, _ = write_clip(args.out, result.audios[0], request.replace(operation=operation),
                               spec, details, model=model_identity(folder),
                               decoder=pipe.codec.check_decoder(args.decoder),
                               sample_rate=result.sample_rate, watermark=report.watermark,
                               audio_format=args.format)
    print(f"wrote {written} ({spec.seconds:g} s, seed {request.seed})")
    if result.lyrics_schedule and not args.quiet:
        print("lyrics as scheduled (also in the sidecar's lyrics_schedule):")
        for entry in result.lyrics_schedule[0]:
            sung = " ".join(entry["words"]) or "(instrumental)"
            section = f"[{entry['section']}] " if entry["section"] else ""
            print(f"  {entry['start']:6.1f}-{entry['end']:6.1f} s  {section}"
                  f"{sung[:70] + '...' if len(sung) > 73 else sung}")
    return written


def _song(args: argparse.Namespace) -> None:
    render(args, args.prompt, _lyrics(args.lyrics), args.seconds, "song")


COMMANDS = [Command("song", "long-form music with lyrics from the token-AR backend",
                    _arguments, _song)]
