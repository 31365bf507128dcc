"""``latentaudio evaluate``: generate (or read) clips for prompts, score them, write a report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentaudio.cli.common import Command, add_decoder_option, guidance_scale, positive_int
from latentaudio.errors import LatentAudioError, SilentOutputError

EXAMPLES = """\
examples:
  latentaudio evaluate --prompts evaluation/prompts.jsonl --reference ~/corpus --out eval/
  latentaudio evaluate --prompts evaluation/prompts.jsonl --generated my-clips/ --out eval/

Writes DIR/report.json and DIR/report.html (one row per prompt with a player, a spectrogram
and its metrics; summary tables with calibration rows: real test-split audio of each prompt's
category scored as if generated, and noise). --generated reads ID.wav/.flac files named by the
prompts' ids instead of generating. Calibration rows need --reference (a corpus). Without
one, FADs are against the shipped statistics of corpus v2's test split
(checkpoints/fad-reference, as pytorch-fid ships its own): no corpus needed."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("--prompts", type=Path, required=True,
                        help="JSONL with id, prompt, kind, category, seconds[, bpm, key]")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="generator folder (default: the shipped model)")
    parser.add_argument("--generated", type=Path, default=None,
                        help="score existing files DIR/ID.{wav,flac,ogg,mp3} instead")
    parser.add_argument("--reference", type=Path, default=None,
                        help="corpus folder or manifest: FAD reference (train split) and "
                        "calibration clips (test split)")
    parser.add_argument("--clap", type=Path, default=None,
                        help="latentaudio-CLAP folder (default: checkpoints/latentaudio-clap "
                        "when present; without one, CLAP figures are left out)")
    parser.add_argument("--steps", type=positive_int, default=12)
    parser.add_argument("--cfg", type=guidance_scale, default=4.0)
    add_decoder_option(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first prompt (+1 each)")
    parser.add_argument("--limit", type=positive_int, default=None, help="first N prompts only")
    parser.add_argument("--reference-clips", type=positive_int, default=200,
                        help="real clips in the FAD reference set (default: %(default)s)")
    parser.add_argument("--no-calibration", action="store_true",
                        help="skip the real-audio and noise calibration rows")


def _find_generated(folder: Path, prompt_id: str) -> Path:
    for suffix in (".wav", ".flac", ".ogg", ".mp3"):
        if (folder / f"{prompt_id}{suffix}").is_file():
            return folder / f"{prompt_id}{suffix}"
    raise LatentAudioError(f"no generated file for prompt {prompt_id!r} in {folder} "
                           "(expected ID.wav, .flac, .ogg or .mp3)")


def _noise(seconds: float, seed: int):
    """Pink-ish noise at a moderate level: the "bad end" calibration row."""
    import numpy as np

    from latentaudio.postprocess import MasteringConfig, master

    rng = np.random.default_rng(seed)
    samples = round(seconds * 44_100)
    white = rng.standard_normal((2, samples))
    spectrum = np.fft.rfft(white, axis=-1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[-1]), 1))
    pink = np.fft.irfft(spectrum, n=samples, axis=-1).astype(np.float32)
    unmarked = MasteringConfig(watermark=None)
    return master(pink / np.abs(pink).max() * 0.5, 44_100, samples, unmarked)[0]


def _evaluate(args: argparse.Namespace) -> None:
    import numpy as np
    from tqdm import tqdm

    from latentaudio.audio import load_audio, save_audio
    from latentaudio.evaluation.clap import DEFAULT_CLAP, LatentAudioClap
    from latentaudio.evaluation.report import (
        Scorer,
        read_prompts,
        spectrogram_png,
        summarise,
        write_html,
    )

    try:
        prompts = read_prompts(args.prompts)
    except (OSError, ValueError) as error:
        raise LatentAudioError(f"cannot read the prompts: {error}") from None
    prompts = prompts[: args.limit] if args.limit else prompts
    if not prompts:
        raise LatentAudioError(f"{args.prompts} holds no prompts")
    if args.generated is not None:  # every file present before any model loads
        generated = {p.id: _find_generated(args.generated, p.id) for p in prompts}
    clap_folder = args.clap or (DEFAULT_CLAP if (DEFAULT_CLAP / "config.json").is_file() else None)
    scorer = Scorer(clap=LatentAudioClap.from_pretrained(clap_folder) if clap_folder else None)
    if clap_folder is None:
        print("no CLAP model: CLAP score and CLAP FAD are left out (see 'train clap')")
    quiet = args.quiet

    pipe = model = None
    if args.generated is None:
        from latentaudio.generation import load_pipeline, model_identity

        pipe, folder = load_pipeline(args.checkpoint)
        model = model_identity(folder)

    rows, embeddings = [], {}
    for index, prompt in enumerate(tqdm(prompts, desc="generate + score", disable=quiet)):
        audio_path = args.out / "audio" / f"{prompt.id}.wav"
        if pipe is None:
            audio = load_audio(generated[prompt.id])
        else:
            # As the CLI: silent draws are made again from the next seeds; a prompt the model
            # still answers with silence is scored as what it made (badly), not an error that
            # ends the whole evaluation.
            kwargs = dict(seconds=prompt.seconds, seeds=[args.seed + index],
                          num_inference_steps=args.steps, guidance_scale=args.cfg,
                          progress=False, decoder=args.decoder)
            try:
                result = pipe(prompt.prompt, **kwargs)
            except SilentOutputError:
                result = pipe(prompt.prompt, allow_silence=True, **kwargs)
            audio = result.audios[0]
        save_audio(audio_path, audio)
        metrics, vectors = scorer.score(audio, prompt)
        spectrogram_png(audio, args.out / "images" / f"{prompt.id}.png")
        rows.append({"id": prompt.id, "prompt": prompt.prompt, "kind": prompt.kind,
                     "category": prompt.category, "audio": f"audio/{prompt.id}.wav",
                     "image": f"images/{prompt.id}.png", **metrics})
        for name, vector in vectors.items():
            embeddings.setdefault(name, []).append(vector)
    embeddings = {k: np.stack(v) for k, v in embeddings.items()}

    reference, calibration = {}, {}
    if args.reference is not None:
        reference, calibration = _reference_and_calibration(args, prompts, scorer, quiet)
    else:
        reference = _shipped_reference(clap_folder)
    summaries = {"generated": summarise(rows, embeddings, reference)}
    for name, (cal_rows, cal_embeddings) in calibration.items():
        summaries[name] = summarise(cal_rows, cal_embeddings, reference)

    args.out.mkdir(parents=True, exist_ok=True)
    report = {"prompts": str(args.prompts), "model": model, "steps": args.steps,
              "cfg": args.cfg, "clap": str(clap_folder) if clap_folder else None,
              "reference": (str(args.reference) if args.reference
                            else "shipped statistics" if reference else None),
              "summaries": summaries, "rows": rows}
    (args.out / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    write_html(args.out / "report.html", "latentaudio evaluation", summaries, rows)
    _print_summary(summaries)
    print(f"wrote {args.out / 'report.html'} and report.json")


def _shipped_reference(clap_folder: Path | None) -> dict:
    """The shipped test-split Gaussians; the CLAP one only for the CLAP it was made with."""
    from latentaudio.evaluation.fad import REFERENCE_STATISTICS, load_statistics, weights_digest

    if not (REFERENCE_STATISTICS / "statistics.npz").is_file():
        print("no --reference and no shipped FAD statistics: FADs are left out")
        return {}
    stats, about = load_statistics(REFERENCE_STATISTICS)
    if "clap" in stats and (clap_folder is None
                            or weights_digest(clap_folder) != about.get("clap_digest")):
        del stats["clap"]
    print(f"FAD against the shipped statistics of {about.get('corpus', 'the corpus')}'s "
          f"{about.get('split', 'test')} split ({about.get('clips', '?')} clips)")
    return stats


def _reference_and_calibration(args, prompts, scorer, quiet: bool):
    import numpy as np
    from tqdm import tqdm

    from latentaudio.audio import load_audio
    from latentaudio.data.sources import load_clips

    clips, root, _ = load_clips(args.reference)
    categories = {p.category for p in prompts if p.category}
    train = [c for c in clips if c.split == "train" and (not categories
                                                          or c.category in categories)]
    rng = np.random.default_rng(0)
    chosen = [train[i] for i in sorted(rng.permutation(len(train))[: args.reference_clips])]
    reference: dict[str, list] = {}
    for clip in tqdm(chosen, desc="reference embeddings", disable=quiet):
        for name, vector in scorer.embed(load_audio(clip.resolve(root),
                                                    duration_seconds=10.0)).items():
            reference.setdefault(name, []).append(vector)
    from latentaudio.evaluation.fad import gaussian

    reference = {k: gaussian(np.stack(v)) for k, v in reference.items()}
    if args.no_calibration:
        return reference, {}

    test = {}
    for clip in clips:
        if clip.split == "test":
            test.setdefault(clip.category, []).append(clip)
    calibration = {}
    for name in ("real test audio (calibration)", "noise (calibration)"):
        rows, vectors = [], {}
        for index, prompt in enumerate(tqdm(prompts, desc=name, disable=quiet)):
            if name.startswith("noise"):
                audio = _noise(prompt.seconds, index)
            else:
                pool = test.get(prompt.category)
                if not pool:
                    continue
                clip = pool[index % len(pool)]
                audio = load_audio(clip.resolve(root), duration_seconds=prompt.seconds)
            metrics, embedded = scorer.score(audio, prompt)
            rows.append({"id": prompt.id, **metrics})
            for key, vector in embedded.items():
                vectors.setdefault(key, []).append(vector)
        calibration[name] = (rows, {k: np.stack(v) for k, v in vectors.items()})
    return reference, calibration


def _print_summary(summaries: dict) -> None:
    columns = ("clap_score", "fad_aisfx", "fad_clap", "tempo_acc2", "key_mirex",
               "lufs_abs_error", "true_peak_ok", "silent")
    print(f"{'set':34}{'clips':>6}" + "".join(f"{c:>15}" for c in columns))
    for name, summary in summaries.items():
        cells = "".join(f"{summary[c]:>15.3f}" if c in summary else f"{'-':>15}"
                        for c in columns)
        print(f"{name:34}{summary['clips']:>6}{cells}")


COMMANDS = [Command("evaluate", "score generated audio against prompts; writes an HTML report",
                    _arguments, _evaluate)]
