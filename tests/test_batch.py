"""latentaudio batch: every line checked first, one clip and sidecar per line, resume, failures
logged, and the work split over processes by accelerate."""

import json
import subprocess
import sys

import numpy as np
import pytest

from latentaudio import cli
from latentaudio.audio import load_audio, save_audio
from latentaudio.batch import read_items
from latentaudio.errors import LatentAudioError
from tests.signals import sine


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The tiny pipeline saved as a model folder."""
    from tests.fixtures import tiny_pipeline

    folder = tmp_path_factory.mktemp("batch") / "model"
    tiny_pipeline().save_pretrained(folder)
    return folder


def write_lines(path, *lines):
    path.write_text("\n".join(json.dumps(line) if isinstance(line, dict) else line
                              for line in lines) + "\n")
    return path


def test_lines_are_checked_before_any_work(tmp_path):
    save_audio(tmp_path / "in.wav", sine(seconds=1.0))
    good = write_lines(tmp_path / "ok.jsonl", {"prompt": "rain", "seconds": 2}, "",
                       "# a comment", {"prompt": "dog", "name": "Dog Bark!", "seed": 9},
                       {"operation": "vary", "prompt": "x", "input": "in.wav"})
    items = read_items(good, defaults={"steps": 3}, base_seed=100)
    assert [item.name for item in items] == ["0000-rain", "dog-bark", "0002-x"]
    assert [item.request.seed for item in items] == [100, 9, 102]
    assert all(item.request.steps == 3 for item in items)
    assert items[2].input == (tmp_path / "in.wav").resolve()

    cases = [
        ("{not json", "bad.jsonl:1: not JSON"),
        ('["a list"]', "expected an object"),
        ({"prompt": "x", "colour": "red"}, "unknown field(s) colour"),
        ({"prompt": ""}, "prompt is empty"),
        ({"prompt": "x", "seconds": 500}, "out of range"),
        ({"operation": "vary", "prompt": "x"}, "needs \"input\""),
        ({"operation": "vary", "prompt": "x", "input": "missing.wav"}, "missing.wav"),
        ({"operation": "inpaint", "prompt": "x", "input": "in.wav", "start": 0.5, "end": 9},
         "not inside the clip"),
        ({"prompt": "x", "format": "exe"}, "format 'exe'"),
        ('{"prompt": "x", "cfg": NaN}', "guidance scale nan is out of range"),
        ({"prompt": "x", "lufs": 1000}, "loudness target 1000 LUFS is out of range"),
        ({"prompt": "x", "decoder": "wavenet"}, "unknown decoder 'wavenet'"),
        ({"prompt": 123}, "bad.jsonl:1: prompt must be text, got 123"),
        ({"prompt": "x", "seconds": "abc"}, "seconds must be a number, got \"abc\""),
        ({"prompt": "x", "steps": "5"}, "steps must be a whole number, got \"5\""),
        ({"prompt": "x", "watermark": "no"}, "watermark must be true or false"),
        ({"prompt": "x", "seed": 2**64}, "seed 18446744073709551616 is out of range"),
        ({"operation": "paint", "prompt": "x"}, "unknown operation"),
    ]
    for line, expected in cases:
        path = write_lines(tmp_path / "bad.jsonl", line)
        with pytest.raises(LatentAudioError) as error:
            read_items(path)
        assert expected in str(error.value), (line, str(error.value))
    twice = write_lines(tmp_path / "twice.jsonl", {"prompt": "a", "name": "n"},
                        {"prompt": "b", "name": "n"})
    with pytest.raises(LatentAudioError, match="line 1's"):
        read_items(twice)
    with pytest.raises(LatentAudioError, match="holds no items"):
        read_items(write_lines(tmp_path / "empty.jsonl", "# nothing"))


def test_batch_makes_each_clip_and_resumes(capsys, tmp_path, model):
    save_audio(tmp_path / "in.wav", sine(seconds=1.0))
    prompts = write_lines(tmp_path / "p.jsonl",
                          {"prompt": "rain", "seconds": 1},
                          {"prompt": "dog", "name": "dog", "seconds": 1, "format": "flac"},
                          {"operation": "loop", "prompt": "beat", "bpm": 120, "bars": 1},
                          {"operation": "vary", "prompt": "x", "input": "in.wav",
                           "strength": 0.4})
    out = tmp_path / "out"
    argv = ["batch", str(prompts), "--out", str(out), "--checkpoint", str(model),
            "--steps", "2", "--seed", "50", "-q"]
    assert cli.main(argv) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["0000-rain.wav", "0000-rain.wav.json", "0002-beat.wav",
                     "0002-beat.wav.json", "0003-x.wav", "0003-x.wav.json", "dog.flac",
                     "dog.flac.json"]
    sidecar = json.loads((out / "0000-rain.wav.json").read_text())
    assert sidecar["seed"] == 50 and sidecar["steps"] == 2 and sidecar["provenance"]["watermark"]
    assert json.loads((out / "0003-x.wav.json").read_text())["strength"] == 0.4
    assert load_audio(out / "0002-beat.wav").shape[-1] == 2 * 44_100

    # Rerun: nothing is made again. Remove one clip: only it is made, the same as before.
    first = load_audio(out / "0000-rain.wav")
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert "4 already done, 0 to make" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    (out / "0000-rain.wav.json").unlink()  # no sidecar: not done
    assert cli.main(argv) == 0
    np.testing.assert_array_equal(load_audio(out / "0000-rain.wav"), first)
    assert (out / "dog.flac").stat().st_mtime_ns == stamps["dog.flac"]


def test_failed_items_are_logged_and_the_rest_made(capsys, tmp_path, model, monkeypatch):
    import latentaudio.render

    real_render = latentaudio.render.render

    def fails_on_some(pipe, request, *args, **kwargs):
        if request.prompt == "total silence":  # as when every draw is silent
            raise LatentAudioError("the model made silence 5 times in a row")
        if request.prompt == "a bug":  # any other exception: one item's, not the batch's
            raise OverflowError("Python int too large to convert to C long")
        return real_render(pipe, request, *args, **kwargs)

    monkeypatch.setattr(latentaudio.render, "render", fails_on_some)
    prompts = write_lines(tmp_path / "p.jsonl", {"prompt": "total silence", "seconds": 1},
                          {"prompt": "a bug", "seconds": 1}, {"prompt": "ok", "seconds": 1})
    out = tmp_path / "out"
    code = cli.main(["batch", str(prompts), "--out", str(out), "--checkpoint", str(model),
                     "--steps", "2", "-q"])
    assert code == 1
    assert "2 of 3 items failed" in capsys.readouterr().err
    silent, bug = (json.loads(line) for line in (out / "failed.jsonl").read_text().splitlines())
    assert silent["name"] == "0000-total-silence" and silent["line"] == 1
    assert silent["error"] == "line 1: the model made silence 5 times in a row"
    assert bug["line"] == 2 and "internal error: OverflowError" in bug["error"]
    assert (out / "0002-ok.wav.json").is_file()  # the rest was made


def test_two_processes_share_the_items(tmp_path, model):
    prompts = write_lines(tmp_path / "p.jsonl",
                          *[{"prompt": f"sound {i}", "seconds": 1} for i in range(4)])
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "latentaudio", "batch", str(prompts), "--out",
                           str(out), "--checkpoint", str(model), "--steps", "2",
                           "--processes", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("*.wav.json"))) == 4
    # Each process made its own half (2 of 4), not all of them.
    for rank in (1, 2):
        assert f"batch {rank}/2: 100%|██████████| 2/2" in done.stderr


def test_batch_cli_errors_are_one_line(capsys, tmp_path):
    assert cli.main(["batch", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot read" in err
    bad = write_lines(tmp_path / "bad.jsonl", {"prompt": "ok"}, {"prompt": "x", "stepz": 3})
    assert cli.main(["batch", str(bad), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert "bad.jsonl:2" in err and "stepz" in err and not (tmp_path / "o").exists()


def test_request_types_are_strict_and_errors_one_line():
    from latentaudio.request import Request

    assert Request.from_dict({"prompt": "x", "cfg": 5}).cfg == 5.0  # a whole number is a number
    for values, message in [({"prompt": "x", "bars": 2.5}, "bars must be a whole number"),
                            ({"prompt": "x", "seed": True}, "seed must be a whole number"),
                            ({"prompt": "x", "operation": "dance"}, "unknown operation 'dance'"),
                            ({"prompt": "x", "decoder": "mp3"}, "unknown decoder 'mp3'"),
                            ({"prompt": ["x"]}, "prompt must be text")]:
        with pytest.raises(LatentAudioError, match=message) as caught:
            Request.from_dict(values)
        assert "\n" not in str(caught.value)
