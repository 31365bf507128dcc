"""Provenance travels inside every output format and in the sidecar."""

import json

import numpy as np
import pytest

from latentaudio.cli.common import save_output
from latentaudio.provenance import prompt_hash, provenance, read_provenance


@pytest.mark.parametrize("suffix", ["wav", "flac", "ogg", "mp3"])
def test_the_record_is_inside_the_file_and_the_sidecar(tmp_path, suffix):
    record = provenance(operation="generate", prompt="rain on a roof", seed=3,
                        model={"id": "latentaudio-small", "denoiser_sha256": "abc"},
                        watermark="1234abcd:5a")
    audio = (np.random.default_rng(0).standard_normal((2, 44_100)) * 0.1).astype(np.float32)
    written = save_output(tmp_path / f"clip.{suffix}", audio, None, {"seed": 3}, record)
    assert read_provenance(written) == record
    sidecar = json.loads(written.with_name(written.name + ".json").read_text())
    assert sidecar["provenance"] == record and sidecar["seed"] == 3
    assert record["prompt_sha256"] == prompt_hash("rain on a roof") != "rain on a roof"
    assert record["software"].startswith("latentaudio ") and record["created"].endswith("Z")


def test_files_without_a_record(tmp_path):
    from latentaudio.audio import save_audio

    plain = save_audio(tmp_path / "plain.wav", np.zeros((2, 100), np.float32),
                       metadata={"comment": "not ours"})
    assert read_provenance(plain) is None


def test_source_date_epoch_makes_files_byte_identical(tmp_path, monkeypatch):
    from latentaudio.errors import LatentAudioError
    from tests.signals import sine

    audio = sine(440.0, seconds=0.5)
    model = {"id": "m", "denoiser_sha256": "abc"}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    paths = []
    for name in ("a.flac", "b.flac"):
        record = provenance(operation="generate", prompt="p", seed=1, model=model, watermark=None)
        paths.append(save_output(tmp_path / name, audio, None, {"seed": 1}, record))
    assert record["created"] == "2023-11-14T22:13:20Z"
    assert paths[0].read_bytes() == paths[1].read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(LatentAudioError, match="SOURCE_DATE_EPOCH"):
        provenance(operation="generate", prompt="p", seed=1, model=model, watermark=None)
