"""latentaudio-CLAP on a hand-made three-class set: it trains, scores matching captions higher,
saves and loads, and reports retrieval and zero-shot figures."""

import json

import numpy as np
import pytest
import torch

from latentaudio.audio import save_audio
from latentaudio.data.sources import load_clips
from latentaudio.evaluation.clap import (
    ClapHeads,
    LatentAudioClap,
    retrieval_recall,
    zero_shot_accuracy,
)
from latentaudio.train.clap import train_clap

SR = 44_100
CLASSES = {
    "beep": ["a high electronic beep", "a bright short beep tone", "a shrill beeping sound"],
    "hum": ["a low electrical hum", "a deep droning hum", "a low steady drone"],
    "noise": ["loud white noise hiss", "a rushing noisy hiss", "static hiss"],
}


def make_clip(kind: str, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(1.5 * SR)) / SR
    if kind == "beep":
        mono = 0.4 * np.sin(2 * np.pi * rng.uniform(2500, 4000) * t) * (t % 0.3 < 0.15)
    elif kind == "hum":
        f = rng.uniform(50, 70)
        mono = 0.4 * (np.sin(2 * np.pi * f * t) + 0.5 * np.sin(2 * np.pi * 2 * f * t))
    else:
        mono = 0.3 * rng.standard_normal(len(t))
    return np.stack([mono, mono]).astype(np.float32)


def make_corpus(root, per_class: int, test_per_class: int) -> None:
    """``per_class`` clips of each class with a manifest; the last ``test_per_class`` of each
    class form the test split."""
    rng = np.random.default_rng(0)
    rows = []
    for kind, captions in CLASSES.items():
        for i in range(per_class):
            path = f"{kind}-{i}.wav"
            save_audio(root / path, make_clip(kind, rng))
            rows.append({"id": f"{kind}-{i}", "path": path, "caption": captions[i % 3],
                         "tags": [kind], "source": "test", "license": "CC0-1.0",
                         "seconds": 1.5,
                         "split": "test" if i >= per_class - test_per_class else "train",
                         "kind": "sfx", "category": kind, "group": f"{kind}-{i}"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("clapdata")
    make_corpus(root, per_class=10, test_per_class=2)
    clips, data_root, _ = load_clips(root)
    out = tmp_path_factory.mktemp("claprun")
    metrics = train_clap(clips, data_root, out, steps=150, batch_size=24, progress=False)
    return out, metrics, clips, data_root


def test_training_lowers_the_loss_and_reports_metrics(trained):
    _, metrics, _, _ = trained
    assert metrics["loss_last"] < metrics["loss_first"]
    test = metrics["test"]
    assert test["clips"] == 6 and 0 <= test["audio_to_text_r@1"] <= 1
    assert test["zero_shot_classes"] == 3 and test["zero_shot_accuracy"] >= 2 / 3


def test_matching_caption_scores_higher_after_save_and_load(trained):
    out, _, clips, root = trained
    from latentaudio.audio import load_audio

    clap = LatentAudioClap.from_pretrained(out / "final")
    test = [c for c in clips if c.split == "test"]
    wavs = [load_audio(c.resolve(root)) for c in test]
    matching = clap.score(wavs, [c.caption for c in test])
    others = {"beep": "a low electrical hum", "hum": "loud white noise hiss",
              "noise": "a high electronic beep"}
    mismatching = clap.score(wavs, [others[c.category] for c in test])
    assert np.mean(matching) > np.mean(mismatching)
    assert np.sum(matching > mismatching) >= 5


def test_missing_clap_folder_is_a_clear_error(tmp_path):
    from latentaudio.errors import LatentAudioError

    with pytest.raises(LatentAudioError, match="no CLAP model"):
        LatentAudioClap.from_pretrained(tmp_path)


def test_retrieval_and_zero_shot_arithmetic():
    eye = torch.eye(3)
    assert retrieval_recall(eye, eye, ks=(1,)) == {"audio_to_text_r@1": 1.0,
                                                   "text_to_audio_r@1": 1.0}
    shuffled = eye[[1, 2, 0]]
    assert retrieval_recall(eye, shuffled, ks=(1, 3))["audio_to_text_r@1"] == 0.0
    assert retrieval_recall(eye, shuffled, ks=(1, 3))["audio_to_text_r@3"] == 1.0
    assert zero_shot_accuracy(eye, ["a", "b", "c"], eye, ["a", "b", "c"]) == 1.0
    assert zero_shot_accuracy(eye, ["a", "b", "c"], shuffled, ["a", "b", "c"]) == 0.0


def test_heads_loss_ignores_duplicate_captions():
    torch.manual_seed(0)
    heads = ClapHeads(audio_dim=4, text_dim=4, embed_dim=4, hidden_dim=8)
    text = torch.randn(1, 4).repeat(3, 1)
    loss = heads.loss(torch.randn(3, 4), text)
    assert torch.isfinite(loss)
