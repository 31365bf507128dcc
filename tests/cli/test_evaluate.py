"""'latentaudio evaluate' end to end on files that are already generated, with a reference
corpus: the report and its calibration rows are written and hold what they should."""

import json

import numpy as np
import pytest

from latentaudio import cli
from latentaudio.audio import save_audio
from latentaudio.evaluation.report import read_prompts
from tests.evaluation.test_clap import make_clip, make_corpus


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("evaluate")
    rng = np.random.default_rng(0)
    corpus = base / "corpus"
    make_corpus(corpus, per_class=4, test_per_class=1)
    prompts = base / "prompts.jsonl"
    prompts.write_text(
        json.dumps({"id": "beep", "prompt": "a high beep", "category": "beep", "seconds": 1.5})
        + "\n" + json.dumps({"id": "hum", "prompt": "a low hum, 90 bpm, A minor",
                             "kind": "music", "category": "hum", "seconds": 1.5, "bpm": 90,
                             "key": "A minor"}) + "\n")
    generated = base / "generated"
    save_audio(generated / "beep.wav", make_clip("beep", rng))
    save_audio(generated / "hum.flac", make_clip("hum", rng))
    return base, corpus, prompts, generated


def test_evaluate_writes_a_report_with_calibration_rows(capsys, setup):
    base, corpus, prompts, generated = setup
    out = base / "report"
    code = cli.main(["evaluate", "--prompts", str(prompts), "--generated", str(generated),
                     "--reference", str(corpus), "--clap", str(base / "no-clap-here"), "--out",
                     str(out), "-q"])
    # A missing --clap folder is a clear error, not a traceback.
    assert code != 0 and "no CLAP model" in capsys.readouterr().err
    code = cli.main(["evaluate", "--prompts", str(prompts), "--generated", str(generated),
                     "--reference", str(corpus), "--out", str(out), "-q"])
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    summaries = report["summaries"]
    assert set(summaries) == {"generated", "real test audio (calibration)",
                              "noise (calibration)"}
    assert summaries["generated"]["clips"] == 2
    assert all(np.isfinite(s["fad_aisfx"]) for s in summaries.values())
    # Noise is further from real audio than the generated stand-ins are.
    assert summaries["noise (calibration)"]["fad_aisfx"] > summaries["generated"]["fad_aisfx"]
    hum = next(r for r in report["rows"] if r["id"] == "hum")
    assert "tempo_acc2" in hum and "key_mirex" in hum and hum["seconds"] == pytest.approx(1.5)
    page = (out / "report.html").read_text()
    assert page.count("<audio") == 2 and "noise (calibration)" in page
    assert (out / "images" / "beep.png").stat().st_size > 500
    assert (out / "audio" / "hum.wav").is_file()


def test_missing_generated_file_and_bad_prompts_are_one_line_errors(capsys, setup, tmp_path):
    _, _, prompts, _ = setup
    code = cli.main(["evaluate", "--prompts", str(prompts), "--generated", str(tmp_path),
                     "--out", str(tmp_path / "r"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "no generated file for prompt 'beep'" in err and "\n" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "no id"}\n')
    code = cli.main(["evaluate", "--prompts", str(bad), "--out", str(tmp_path / "r"), "-q"])
    assert code != 0 and "bad.jsonl:1" in capsys.readouterr().err


def test_the_shipped_prompt_set_reads():
    prompts = read_prompts("evaluation/prompts.jsonl")
    assert len(prompts) >= 60
    music = [p for p in prompts if p.kind == "music"]
    assert music and all(p.bpm and p.key for p in music)
    assert len({p.category for p in prompts if p.kind == "sfx"}) >= 20


def test_without_a_corpus_fads_use_the_shipped_statistics(capsys, setup, monkeypatch):
    """As pytorch-fid ships its statistics: FAD needs no corpus on the machine. The CLAP
    Gaussian is used only with the CLAP it was made with."""
    from latentaudio.evaluation import fad
    from latentaudio.evaluation.clap import DEFAULT_CLAP
    from latentaudio.evaluation.report import Scorer

    base, _corpus, prompts, generated = setup
    scorer = Scorer()
    rng = np.random.default_rng(1)
    real = {"aisfx": np.stack([scorer.embed(make_clip(name, rng))["aisfx"]
                               for name in ("beep", "hum") * 3])}
    folder = base / "stats"
    fad.save_statistics(folder, real, {"corpus": "tiny", "split": "test", "clips": 6,
                                       "clap_digest": "another one"})
    stats, about = fad.load_statistics(folder)
    assert stats["aisfx"][0].shape == (512,) and stats["aisfx"][1].shape == (512, 512)
    assert about["clips"] == 6
    monkeypatch.setattr(fad, "REFERENCE_STATISTICS", folder)
    out = base / "shipped"
    code = cli.main(["evaluate", "--prompts", str(prompts), "--generated", str(generated),
                     "--out", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    assert "shipped statistics of tiny's test split (6 clips)" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    summary = report["summaries"]["generated"]
    assert np.isfinite(summary["fad_aisfx"]) and report["reference"] == "shipped statistics"
    if (DEFAULT_CLAP / "config.json").is_file():
        assert "fad_clap" not in summary  # the digest names another CLAP
