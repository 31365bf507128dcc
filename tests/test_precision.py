"""The per-machine precision choice: environment override, probe, cache; and a bf16 denoiser
under an fp32 sampler."""

import json

import pytest
import torch

from latentaudio import precision
from latentaudio.errors import LatentAudioError


def test_the_environment_overrides_the_probe(monkeypatch, tmp_path):
    monkeypatch.setenv(precision.ENVIRONMENT, "fp32")
    assert precision.choose(tmp_path / "p.json") == "fp32"
    assert not (tmp_path / "p.json").exists()  # no probe was run
    monkeypatch.setenv(precision.ENVIRONMENT, "bf16")
    assert precision.dtype() == torch.bfloat16
    monkeypatch.setenv(precision.ENVIRONMENT, "fp8")
    with pytest.raises(LatentAudioError, match="fp32, bf16 or auto"):
        precision.choose(tmp_path / "p.json")


def test_the_probe_runs_once_per_machine_and_is_cached(monkeypatch, tmp_path):
    monkeypatch.delenv(precision.ENVIRONMENT, raising=False)
    calls = []

    def fake_probe():
        calls.append(1)
        return {"fp32": 0.010, "bf16": 0.002}

    monkeypatch.setattr(precision, "probe", fake_probe)
    cache = tmp_path / "precision.json"
    assert precision.choose(cache) == "bf16"
    assert precision.choose(cache) == "bf16"
    assert len(calls) == 1
    record = json.loads(cache.read_text())[precision.machine_key()]
    assert record == {"choice": "bf16", "fp32_ms": 10.0, "bf16_ms": 2.0}
    # A machine where bf16 is emulated keeps fp32.
    monkeypatch.setattr(precision, "machine_key", lambda: "a CPU without AMX")
    monkeypatch.setattr(precision, "probe", lambda: {"fp32": 0.010, "bf16": 0.030})
    assert precision.choose(cache) == "fp32"


def test_the_real_probe_times_both():
    timings = precision.probe(width=16, tokens=8, repeats=2)
    assert set(timings) == {"fp32", "bf16"} and timings["fp32"] > 0


def test_a_bf16_denoiser_samples_in_fp32_and_stays_close():
    from tests.fixtures import tiny_pipeline

    pipe = tiny_pipeline()
    common = {"seconds": 1.0, "num_inference_steps": 4, "seeds": [5], "progress": False,
              "allow_silence": True, "output_type": "latent"}
    full = pipe("rain on a tin roof", **common).audios[0]
    pipe.denoiser.to(torch.bfloat16)
    half = pipe("rain on a tin roof", **common).audios[0]
    assert half.dtype == torch.float32  # the sampler integrated in fp32
    cosine = torch.nn.functional.cosine_similarity(full.flatten(), half.flatten(), dim=0)
    assert cosine > 0.99
