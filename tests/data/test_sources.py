"""Bring-your-own data: folders with .txt captions, CSV/JSONL tables, manifests; bad files
skipped."""

import json
from pathlib import Path

import pytest

from latentaudio.audio import save_audio
from latentaudio.data.manifest import Clip, write_manifest
from latentaudio.data.sources import load_clips
from latentaudio.errors import LatentAudioError
from tests.signals import sine


@pytest.fixture
def folder(tmp_path):
    data = tmp_path / "mine"
    save_audio(data / "rain_on_roof.wav", sine(seconds=0.5))
    (data / "rain_on_roof.txt").write_text("Rain drumming on a tin roof.\n")
    save_audio(data / "sub" / "door-slam.flac", sine(seconds=0.3))  # no .txt
    (data / "broken.wav").write_bytes(b"RIFF nonsense")
    (data / "notes.md").write_text("not audio, ignored")
    return data


def test_folder_with_txt_captions(folder):
    clips, root, report = load_clips(folder)
    by_name = {clip.id: clip for clip in clips}
    assert by_name["rain_on_roof.wav"].caption == "Rain drumming on a tin roof."
    assert by_name["sub/door-slam.flac"].caption == "door slam"  # from the file name
    assert by_name["rain_on_roof.wav"].seconds == pytest.approx(0.5)
    assert report.kept == 2 and report.skipped == 1
    assert "broken.wav" in report.reasons[0]
    assert all(clip.resolve(root).is_file() for clip in clips)


def test_csv_table_audiocaps_style(folder):
    table = folder / "captions.csv"
    table.write_text("file_name,caption,split\nrain_on_roof.wav,rain on a roof,test\n"
                     "missing.wav,gone,train\n,no path,train\n")
    clips, root, report = load_clips(table)
    assert [(c.caption, c.split) for c in clips] == [("rain on a roof", "test")]
    assert report.skipped == 2
    assert clips[0].resolve(root).is_file()


def test_jsonl_table(folder):
    table = folder / "captions.jsonl"
    table.write_text(json.dumps({"path": "sub/door-slam.flac", "text": "a door slams"}) + "\n")
    clips, _, _ = load_clips(table)
    assert clips[0].caption == "a door slams"


def test_our_manifest_and_its_folder(tmp_path):
    save_audio(tmp_path / "a.flac", sine(seconds=0.2))
    write_manifest(tmp_path / "manifest.jsonl", [
        Clip("a", "a.flac", "a tone", ["tone"], "test", "CC0-1.0", 0.2, "valid"),
        Clip("b", "b.flac", "missing", [], "test", "CC0-1.0", 0.2, "train")])
    for spec in (tmp_path / "manifest.jsonl", tmp_path):
        clips, root, report = load_clips(spec)
        assert [c.id for c in clips] == ["a"] and clips[0].split == "valid"
        assert report.skipped == 1 and root == tmp_path


def test_nothing_readable_is_a_clear_error(tmp_path):
    (tmp_path / "x.wav").write_bytes(b"junk")
    with pytest.raises(LatentAudioError, match="no readable clips"):
        load_clips(tmp_path)
    with pytest.raises(LatentAudioError, match="no such data"):
        load_clips(tmp_path / "absent")
    with pytest.raises(LatentAudioError, match="expected a folder"):
        load_clips(tmp_path / "x.wav")


def test_several_sources_load_together_with_absolute_paths(tmp_path):
    from latentaudio.audio import save_audio
    from latentaudio.data.sources import load_clip_sets
    from tests.signals import sine

    for name in ("a", "b"):
        save_audio(tmp_path / name / "tone.wav", sine(440, seconds=0.5))
        (tmp_path / name / "tone.txt").write_text(f"a tone from {name}")
    clips, root, report = load_clip_sets([tmp_path / "a", tmp_path / "b"])
    assert report.kept == 2 and sorted(c.caption for c in clips) == ["a tone from a",
                                                                      "a tone from b"]
    assert all(c.resolve(root).is_file() and Path(c.path).is_absolute() for c in clips)
