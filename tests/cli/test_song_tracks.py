"""A token generator whose coarse model has a voice stream: assembled with the voice's
codebooks, it sings to the exact length, the same bytes for the same seed, and without those
codebooks it fails in one line."""

import json

import numpy as np
import pytest

from latentaudio import cli
from latentaudio.audio import load_audio
from tests.cli.test_cli import _assert_one_line_error, run, tiny_model  # noqa: F401 (fixture)


@pytest.fixture
def parts(tmp_path):
    import torch

    from latentaudio.tokens import ResidualVQ
    from latentaudio.tokens.fine import FineModel
    from latentaudio.tokens.lm import CoarseLM

    torch.manual_seed(0)
    for name, levels in (("rvq", 2), ("vocal-rvq", 3)):
        rvq = ResidualVQ(dim=8, levels=levels, codebook_size=8)
        rvq.update(torch.randn(2, 8, 64))
        rvq.save_pretrained(tmp_path / name)
    CoarseLM(codebook_size=8, layers=1, heads=2, width=16, max_positions=512,
             vocal_levels=2).save_pretrained(tmp_path / "coarse")
    FineModel(codebook_size=8, levels=2, layers=1, heads=2, width=16,
              max_frames=256).save_pretrained(tmp_path / "fine")
    return ["train", "assemble-ar", "--tokens", str(tmp_path / "rvq"), "--coarse",
            str(tmp_path / "coarse"), "--fine", str(tmp_path / "fine")]


def test_a_two_stream_generator_sings(capsys, tmp_path, tiny_model, parts):  # noqa: F811
    folder = tmp_path / "ar"
    code = cli.main([*parts, "--codec", str(tiny_model), "--vocal-tokens",
                     str(tmp_path / "vocal-rvq"), "--to", str(folder)])
    assert code == 0
    weights = sorted(p.parent.name for p in folder.rglob("*.safetensors"))
    assert weights == ["coarse", "fine", "tokens", "vocal_tokens"]
    lyrics = tmp_path / "lyrics.txt"
    lyrics.write_text("[verse]\nhello there\n[chorus]\nla la la\n")
    outputs = []
    for name in ("a.wav", "b.wav"):
        code, _, err = run(capsys, "song", "a pop song", "--lyrics", str(lyrics), "--seconds",
                           "12", "--checkpoint", str(folder), "--seed", "4", "-q",
                           "-o", str(tmp_path / name))
        assert code == 0, err
        outputs.append(load_audio(tmp_path / name))
    assert outputs[0].shape == (2, 12 * 44_100)
    np.testing.assert_array_equal(*outputs)
    sidecar = json.loads((tmp_path / "a.wav.json").read_text())
    assert [e["section"] for e in sidecar["lyrics_schedule"]] == ["verse", "chorus"]


def test_a_two_stream_model_without_the_voice_codebooks_fails_in_one_line(
        capsys, tmp_path, tiny_model, parts):  # noqa: F811
    capsys.readouterr()
    code, _, err = run(capsys, *parts, "--codec", str(tiny_model), "--to", str(tmp_path / "ar"))
    _assert_one_line_error(code, err, "--vocal-tokens")
    assert not (tmp_path / "ar").exists()
