"""The tiny corpus: schema, determinism, splits, readable 44.1 kHz stereo clips, true labels."""

import hashlib
import json

import librosa
import numpy as np
import pytest
import soundfile as sf

from latentaudio.data import corpus as corpus_module
from latentaudio.data.corpus import SIZES, build_corpus, plan
from latentaudio.data.manifest import SPLITS, read_manifest
from latentaudio.errors import MissingDependencyError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    summary = build_corpus(out, "tiny", seed=3, workers=2, progress=False)
    return out, summary, read_manifest(out / "manifest.jsonl")


def test_tiny_has_every_source_kind(tiny):
    _, summary, clips = tiny
    assert len(clips) >= 40
    sources = {clip.source for clip in clips}
    assert {"music-beds", "music21", "procedural"} <= sources
    assert sources & {"minetest", "freedesktop", "ovos-animals"}  # real recordings
    assert summary["clips"] == len(clips)
    assert summary["hours"] > 0


def test_manifest_schema(tiny):
    out, _, clips = tiny
    for line in (out / "manifest.jsonl").read_text().splitlines():
        record = json.loads(line)
        for key in ("id", "path", "caption", "tags", "source", "license", "seconds", "split"):
            assert key in record, key
    ids = [clip.id for clip in clips]
    assert len(set(ids)) == len(ids)
    for clip in clips:
        assert clip.caption and clip.license and clip.split in SPLITS
        if clip.kind == "music":
            assert clip.bpm and clip.key and clip.instruments and clip.genre
            assert 60 <= clip.bpm <= 180


def test_every_clip_is_44k_stereo_and_matches_its_length(tiny):
    out, _, clips = tiny
    for clip in clips:
        info = sf.info(str(out / clip.path))
        assert (info.samplerate, info.channels, info.format) == (44_100, 2, "FLAC")
        assert info.duration == pytest.approx(clip.seconds, abs=0.01)
        audio, _ = sf.read(str(out / clip.path))
        assert 0.5 < np.abs(audio).max() <= 0.9  # peak-normalised to -1 dBFS


def test_songs_keep_their_voice_as_a_stem_at_its_level_in_the_mix(tiny):
    out, _, clips = tiny
    sung = [clip for clip in clips if clip.source == "songs"]
    assert sung
    for clip in sung:
        mix, rate = sf.read(str(out / clip.path))
        voice, voice_rate = sf.read(str(out / clip.extra["stems"]["vocals"]))
        assert voice_rate == rate == 44_100 and voice.shape == mix.shape
        assert 0.0 < np.abs(voice).max() <= np.abs(mix).max() + 1e-3
        # the band is what is left: less loud than the mix where the voice sings
        band = mix - voice
        assert np.sqrt(np.mean(band ** 2)) < np.sqrt(np.mean(mix ** 2))


def test_splits_are_disjoint_by_recording_and_test_is_at_least_5_percent(tiny):
    _, summary, clips = tiny
    split_of_group = {}
    for clip in clips:
        assert split_of_group.setdefault((clip.source, clip.group), clip.split) == clip.split
    test_share = sum(clip.split == "test" for clip in clips) / len(clips)
    assert test_share >= 0.05
    assert summary["splits"]["train"] > summary["splits"]["test"]


def test_attribution_names_the_share_alike_sources(tiny):
    out, _, clips = tiny
    text = (out / "ATTRIBUTION").read_text()
    if any(clip.source == "minetest" for clip in clips):
        assert "CC-BY-SA" in text and "Minetest" in text


def _digest(folder):
    manifest = (folder / "manifest.jsonl").read_bytes()
    audio = b"".join((folder / clip.path).read_bytes()
                     for clip in read_manifest(folder / "manifest.jsonl"))
    return hashlib.sha256(manifest).hexdigest(), hashlib.sha256(audio).hexdigest()


def test_deterministic_for_a_seed_whatever_the_workers(tiny, tmp_path):
    out, _, _ = tiny
    again = build_corpus(tmp_path / "again", "tiny", seed=3, workers=1, progress=False)
    assert again["clips"] > 0
    assert _digest(tmp_path / "again") == _digest(out)


def test_another_seed_gives_another_corpus(tiny):
    captions_a = [job.params for job in plan(SIZES["tiny"], seed=3)]
    captions_b = [job.params for job in plan(SIZES["tiny"], seed=4)]
    assert captions_a != captions_b  # different scores and recordings are drawn


def test_missing_recorded_source_names_the_install_command(monkeypatch):
    from latentaudio.data import recorded

    real = recorded.sources()
    hidden = [s if s.name != "minetest" else type(s)(**{**s.__dict__, "root": None})
              for s in real]
    monkeypatch.setattr(recorded, "sources", lambda: hidden)
    with pytest.raises(MissingDependencyError, match="apt-get install --no-install-recommends "
                                                     "minetest-data"):
        corpus_module.recorded_sources(SIZES["tiny"], allow_missing=False)
    kept = corpus_module.recorded_sources(SIZES["tiny"], allow_missing=True)
    assert "minetest" not in {s.name for s in kept}


def test_rendered_120_bpm_click_track_analyses_at_120_bpm():
    from latentaudio.data.fluidsynth import DRUM_CHANNEL, NoteEvent, render_notes

    beat = 0.5  # 120 bpm
    notes = [NoteEvent(i * beat, 0.05, 37 if i % 4 else 36, 110, DRUM_CHANNEL)
             for i in range(16)]
    audio = render_notes(notes, {}, 8.0, reverb=False)
    tempo, _ = librosa.beat.beat_track(y=audio.mean(axis=0), sr=44_100)
    assert float(np.atleast_1d(tempo)[0]) == pytest.approx(120.0, rel=0.04)


@pytest.mark.parametrize("genre", ["rock", "electronic", "funk"])
def test_composed_bed_plays_at_its_labelled_tempo(genre):
    from latentaudio.data.music import GENRES_BY_NAME, compose_bed, render_bed

    rng = np.random.default_rng(0)
    bed = compose_bed(rng, 10.0, genre=GENRES_BY_NAME[genre], bpm=126)
    audio = render_bed(bed, 10.0).mean(axis=0)
    tempo, _ = librosa.beat.beat_track(y=audio, sr=44_100, start_bpm=110)
    tempo = float(np.atleast_1d(tempo)[0])
    assert min(abs(tempo / 126 - ratio) for ratio in (0.5, 1.0, 2.0)) < 0.04


def test_kernels_compile_before_the_workers_start(tmp_path, monkeypatch):
    """Workers that compile librosa's numba kernels at the same time can corrupt numba's cache
    (a segfault in every later process), so the parent compiles them first."""
    events = []
    monkeypatch.setattr(corpus_module, "compile_kernels", lambda: events.append("compile"))

    class Pool:
        def __init__(self, *args, **kwargs):
            events.append("pool")

        def map(self, *args, **kwargs):
            return iter(())

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(corpus_module, "ProcessPoolExecutor", Pool)
    build_corpus(tmp_path / "two", "tiny", workers=2, sources=["songs"], progress=False)
    assert events == ["compile", "pool"]
    events.clear()
    build_corpus(tmp_path / "one", "tiny", workers=1, sources=["songs"], progress=False)
    assert events == ["pool"]  # one worker compiles alone

