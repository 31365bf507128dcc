"""LoRA adapters: 'train lora' on a toy family with a tiny generator (the loss falls, outputs
move toward the family), strength 0 is the base model exactly, adapters stack, a save/load round
trip is exact, and bad folders or adapters are one-line errors. Then the CLI's sidecar and the
API's adapter folder."""

import json

import numpy as np
import pytest
import torch

from latentaudio import cli
from latentaudio.adapters import AdapterSpec, apply_adapters, list_adapters, resolve
from latentaudio.audio import save_audio
from latentaudio.errors import LatentAudioError

FAST = {"seconds": 1.5, "num_inference_steps": 3, "progress": False, "allow_silence": True,
        "output_type": "latent"}


@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    """A tiny codec and a tiny MiniLM-width DiT, assembled as a generator folder."""
    from latentaudio.denoisers import LatentDiT
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    base = tmp_path_factory.mktemp("lora")
    torch.manual_seed(0)
    vae = MelVAE(latent_channels=8, hidden_channels=16, encoder_blocks=1, decoder_blocks=1)
    vae.save_pretrained(base / "codec" / "vae")
    Vocoder(hidden_channels=16, layers=1).save_pretrained(base / "codec" / "vocoder")
    LatentDiT(latent_channels=8, layers=1, heads=2, key_value_heads=1, head_dim=8,
              cross_attention_dim=16, global_dim=16, time_dim=16, music_grid=True,
              frame_rate=vae.latent_rate).save_pretrained(base / "run" / "final")
    assert cli.main(["train", "assemble", "--codec", str(base / "codec"), "--denoiser",
                     str(base / "run"), "--to", str(base / "generator")]) == 0
    return base / "generator"


def toy_family(folder, count=6, seconds=1.5, seed=0):
    """Bright plucked tones with a fast decay: nothing like the tiny model's random output."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * 44_100)) / 44_100
    for index in range(count):
        pitch = rng.uniform(600, 900)
        tone = 0.4 * np.sin(2 * np.pi * pitch * t) * np.exp(-6 * (t % 0.25))
        save_audio(folder / f"pluck_{index}.wav", np.stack([tone, tone]).astype(np.float32))
    return folder


@pytest.fixture(scope="module")
def trained(generator, tmp_path_factory):
    base = tmp_path_factory.mktemp("adapter")
    data = toy_family(base / "plucks")
    out = base / "pluck-lora"
    code = cli.main(["train", "lora", "--data", str(data), "--out", str(out), "--checkpoint",
                     str(generator), "--steps", "80", "--rank", "4", "--lr", "3e-3",
                     "--seconds", "1.0", "--caption", "a bright pluck", "--precision", "no",
                     "--prior", "0", "--targets", "all", "-q"])
    assert code == 0
    return out, data


def test_prior_preservation_mixes_in_base_model_examples(generator, trained, tmp_path):
    """With --prior N the base model's latents for N everyday prompts are trained on too."""
    from latentaudio.train.lora import PRIOR_PROMPTS

    _, data = trained
    out = tmp_path / "with-prior"
    code = cli.main(["train", "lora", "--data", str(data), "--out", str(out), "--checkpoint",
                     str(generator), "--steps", "4", "--rank", "2", "--seconds", "1.0",
                     "--prior", "3", "--precision", "no", "-q"])
    assert code == 0
    about = json.loads((out / "adapter.json").read_text())
    assert about["prior_examples"] == 3 and len(PRIOR_PROMPTS) >= 30
    # The default targets: the cross-attention's key and value projections only.
    from safetensors.torch import load_file

    names = load_file(out / "pytorch_lora_weights.safetensors")
    assert about["targets"] == "cross" and names
    assert all(".attn2.to_k." in k or ".attn2.to_v." in k for k in names)


def pipeline(generator):
    from latentaudio.generation import load_pipeline

    pipe, _ = load_pipeline(generator)
    pipe.denoiser.float()  # compare in fp32 whatever this machine's probe chose
    return pipe


def test_training_lowers_the_loss_and_writes_a_diffusers_layout_adapter(trained):
    from safetensors.torch import load_file

    out, _ = trained
    losses = [json.loads(line)["loss"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert np.mean(losses[-2:]) < np.mean(losses[:2])
    weights = load_file(out / "pytorch_lora_weights.safetensors")
    assert weights and all(k.startswith("transformer.dit.transformer_blocks.") and ".lora_" in k
                           for k in weights)
    about = json.loads((out / "adapter.json").read_text())
    assert about["rank"] == 4 and about["clips"] == 6 and about["captions"] == ["a bright pluck"]
    assert (out / "checkpoints").is_dir()  # resumable


def test_the_adapter_moves_outputs_toward_the_family(generator, trained):
    from latentaudio.audio import load_audio

    out, data = trained
    pipe = pipeline(generator)
    family = torch.stack([pipe.codec.encode(torch.from_numpy(load_audio(p))[None])[0]
                          for p in sorted(data.glob("*.wav"))]).mean(dim=(0, 2))
    seeds = list(range(4))
    before = torch.as_tensor(pipe(["a bright pluck"] * 4, seeds=seeds, **FAST).audios)
    apply_adapters(pipe, [AdapterSpec(out)])
    after = torch.as_tensor(pipe(["a bright pluck"] * 4, seeds=seeds, **FAST).audios)

    def distance(latents):
        return float((latents.mean(dim=(0, 2)) - family).norm())

    assert distance(after) < distance(before)


def test_strength_zero_is_the_base_model_and_adapters_stack(generator, trained, tmp_path):
    out, _ = trained
    pipe = pipeline(generator)
    base = pipe("a bright pluck", seeds=[3], **FAST).audios[0]
    # A second adapter: the first's weights, doubled.
    from safetensors.torch import load_file, save_file

    other = tmp_path / "other"
    other.mkdir()
    save_file({k: 2 * v for k, v in load_file(out / "pytorch_lora_weights.safetensors").items()},
              str(other / "pytorch_lora_weights.safetensors"))
    apply_adapters(pipe, [AdapterSpec(out, 0.0)])
    assert torch.equal(pipe("a bright pluck", seeds=[3], **FAST).audios[0], base)
    apply_adapters(pipe, [AdapterSpec(out, 1.0)])
    one = pipe("a bright pluck", seeds=[3], **FAST).audios[0]
    apply_adapters(pipe, [AdapterSpec(out, 1.0), AdapterSpec(other, 1.0)])
    both = pipe("a bright pluck", seeds=[3], **FAST).audios[0]
    assert not torch.allclose(one, base) and not torch.allclose(both, one)
    apply_adapters(pipe, [AdapterSpec(out, 0.0), AdapterSpec(other, 0.0)])
    assert torch.equal(pipe("a bright pluck", seeds=[3], **FAST).audios[0], base)
    apply_adapters(pipe, [])  # none asked (a server's next request): the base model again
    assert torch.equal(pipe("a bright pluck", seeds=[3], **FAST).audios[0], base)


def test_a_save_load_round_trip_is_exact(generator, trained, tmp_path):
    from latentaudio.adapters import save_adapter

    out, _ = trained
    first = pipeline(generator)
    apply_adapters(first, [AdapterSpec(out)])
    expected = first("a bright pluck", seeds=[4], **FAST).audios[0]
    save_adapter(first.denoiser, tmp_path / "again", {"copied": True})
    second = pipeline(generator)
    apply_adapters(second, [AdapterSpec(tmp_path / "again")])
    assert torch.equal(second("a bright pluck", seeds=[4], **FAST).audios[0], expected)
    # diffusers' own loader reads the same folder.
    third = pipeline(generator)
    third.load_lora_weights(str(out), adapter_name="plucks")
    assert torch.equal(third("a bright pluck", seeds=[4], **FAST).audios[0], expected)


def test_bad_folders_and_adapters_are_one_line_errors(capsys, generator, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no audio here")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.wav").write_bytes(b"RIFF....nope")
    for folder, words in ((empty, "no readable clips"), (broken, "no readable clips"),
                          (tmp_path / "missing", "")):
        code = cli.main(["train", "lora", "--data", str(folder), "--out", str(tmp_path / "o"),
                         "--checkpoint", str(generator), "-q"])
        err = capsys.readouterr().err
        assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert words in err
    code = cli.main(["generate", "a pluck", "--checkpoint", str(generator), "--lora",
                     str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.wav"), "-q"])
    err = capsys.readouterr().err
    assert code != 0 and "no LoRA adapter" in err and "Traceback" not in err
    assert not (tmp_path / "x.wav").exists()
    with pytest.raises(LatentAudioError, match="out of range"):
        AdapterSpec.parse("folder:9")
    with pytest.raises(LatentAudioError, match="name of an adapter"):
        resolve(["../etc"], tmp_path)


def test_generate_records_the_adapters_in_sidecar_and_provenance(capsys, generator, trained,
                                                                 tmp_path):
    from latentaudio.provenance import read_provenance

    out, _ = trained
    target = tmp_path / "pluck.flac"
    code = cli.main(["generate", "a bright pluck, 1.5 seconds", "--checkpoint", str(generator),
                     "--steps", "2", "--lora", f"{out}:0.7", "-o", str(target), "-q"])
    assert code == 0, capsys.readouterr().err
    sidecar = json.loads((tmp_path / "pluck.flac.json").read_text())
    lora = sidecar["model"]["lora"]
    digest = json.loads((out / "adapter.json").read_text())["sha256"]
    assert lora == [{"path": str(out), "sha256": digest, "strength": 0.7}]
    assert read_provenance(target)["lora"] == [{"sha256": digest, "strength": 0.7}]


def test_a_server_lists_its_adapters_and_takes_only_those(generator, trained, tmp_path):
    from fastapi.testclient import TestClient

    from latentaudio.app import Settings, create_app

    out, _ = trained
    assert [a["name"] for a in list_adapters(out.parent)] == [out.name]
    settings = Settings(tmp_path / "server", workers=0, lora_dir=out.parent)
    with TestClient(create_app(settings, lambda: (None, {}))) as client:
        listed = client.get("/v1/adapters").json()["adapters"]
        assert listed[0]["name"] == out.name and listed[0]["rank"] == 4
        refused = client.post("/v1/generate", json={"prompt": "a pluck", "lora": ["nope"]})
        assert refused.status_code == 400 and "no LoRA adapter" in refused.json()["error"]
        outside = client.post("/v1/generate", json={"prompt": "a pluck",
                                                    "lora": [str(out)]})
        assert outside.status_code == 400
    bare = Settings(tmp_path / "bare", workers=0)
    with TestClient(create_app(bare, lambda: (None, {}))) as client:
        answer = client.post("/v1/generate", json={"prompt": "a pluck", "lora": [out.name]})
        assert answer.status_code == 400 and "--lora-dir" in answer.json()["error"]
