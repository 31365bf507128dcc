"""The training dataset: crops, padding masks, timing labels, gain, feature cache."""

import os

import numpy as np
import pytest
import torch

from latentaudio.audio import save_audio
from latentaudio.data.dataset import ClipDataset, FeatureCache
from latentaudio.data.manifest import Clip
from latentaudio.mel import MelSpectrogram


@pytest.fixture
def clips(tmp_path):
    ramp = np.linspace(-0.5, 0.5, 44_100 * 3, dtype=np.float32)
    save_audio(tmp_path / "long.flac", np.stack([ramp, -ramp]), bit_depth=24)
    save_audio(tmp_path / "short.flac", np.full((2, 22_050), 0.25, dtype=np.float32))
    return [Clip("long", "long.flac", "a ramp", [], "t", "CC0-1.0", 3.0, "train", bpm=120.0,
                 key="A minor"),
            Clip("short", "short.flac", "a short tone", [], "t", "CC0-1.0", 0.5, "train")]


def test_random_crop_of_a_long_clip(clips, tmp_path):
    data = ClipDataset(clips, tmp_path, seconds=1.0, seed=1)
    item = data[0]
    assert item["audio"].shape == (2, 44_100) and item["mask"].all()
    assert 0.0 <= item["seconds_start"] <= 2.0 and item["seconds_total"] == 3.0
    start = round(item["seconds_start"] * 44_100)
    expected = np.linspace(-0.5, 0.5, 44_100 * 3, dtype=np.float32)[start: start + 44_100]
    np.testing.assert_allclose(item["audio"][0].numpy(), expected, atol=1e-4)
    assert item["bpm"] == 120.0 and item["key"] == "A minor"


def test_crops_are_reproducible_and_change_with_the_epoch(clips, tmp_path):
    data = ClipDataset(clips, tmp_path, seconds=1.0, seed=1)
    first = data[0]["seconds_start"]
    assert data[0]["seconds_start"] == first
    data.set_epoch(1)
    assert data[0]["seconds_start"] != first



def test_a_crop_at_a_chosen_start_is_the_crop_drawn_there(clips, tmp_path):
    data = ClipDataset(clips, tmp_path, seconds=1.0, seed=1)
    drawn = data[0]
    chosen = data.item_at(0, drawn["seconds_start"])
    assert torch.equal(chosen["audio"], drawn["audio"])
    later = data.item_at(0, 1.5)
    assert later["seconds_start"] == 1.5
    np.testing.assert_allclose(later["audio"][0, 0].item(),
                               -0.5 + 1.5 / 3.0, atol=1e-3)  # the ramp 1.5 s in

def test_short_clip_is_padded_and_masked(clips, tmp_path):
    item = ClipDataset(clips, tmp_path, seconds=1.0)[1]
    assert item["audio"].shape == (2, 44_100)
    assert item["mask"].sum() == 22_050 and item["mask"][:22_050].all()
    assert torch.all(item["audio"][:, 22_050:] == 0)
    assert item["seconds_start"] == 0.0 and np.isnan(item["bpm"])


def test_gain_augmentation_stays_in_range(clips, tmp_path):
    plain = ClipDataset(clips, tmp_path, seconds=0.5, random_crop=False)[1]["audio"]
    louder = ClipDataset(clips, tmp_path, seconds=0.5, random_crop=False,
                         gain_db=(-6.0, -6.0))[1]["audio"]
    torch.testing.assert_close(louder, plain * 10 ** (-6 / 20))


def test_batches_collate(clips, tmp_path):
    loader = torch.utils.data.DataLoader(ClipDataset(clips, tmp_path, seconds=1.0), batch_size=2)
    batch = next(iter(loader))
    assert batch["audio"].shape == (2, 2, 44_100) and batch["mask"].shape == (2, 44_100)
    assert batch["caption"] == ["a ramp", "a short tone"]


def test_feature_cache_computes_once(clips, tmp_path):
    mel = MelSpectrogram()
    calls = []

    def transform(audio):
        calls.append(1)
        return mel(audio[None])[0]  # (2, 128, frames)

    cache = FeatureCache(transform, mel.config.frames_per_second, tmp_path / "cache", "mel-v1")
    data = ClipDataset(clips, tmp_path, seconds=1.0, features=cache)
    item = data[0]
    frames = round(mel.config.frames_per_second)
    assert item["features"].shape == (2, 128, frames) and item["mask"].all()
    data[0]
    assert len(calls) == 1  # second read came from disk
    short = data[1]
    assert short["mask"].sum() == mel.config.num_frames(22_050)
    # a corpus rebuilt at the same path: the cached features are stale, computed again
    before = len(calls)
    path = clips[0].resolve(tmp_path)
    save_audio(path, np.zeros((2, 44_100), np.float32))
    os.utime(path, ns=(0, 1))
    assert not torch.equal(data[0]["features"], item["features"])
    assert len(calls) == before + 1


def test_a_cache_derives_from_another_without_the_audio(clips, tmp_path):
    """Codec tokens from a diffusion run's cached latents: clips the base cache holds are
    derived from it (no audio read), the others computed from the audio as usual."""
    base = FeatureCache(lambda audio: audio[:, ::100] * 2, 441.0, tmp_path / "latents", "half")
    base.get(clips[0], tmp_path)
    audio_calls = []

    def from_audio(audio):
        audio_calls.append(1)
        return (audio[:, ::100] * 2).round()

    derived = FeatureCache(from_audio, 441.0, tmp_path / "tokens", "tokens",
                           derived_from=(base, torch.round))
    first = derived.get(clips[0], tmp_path)
    assert not audio_calls and torch.equal(first, base.get(clips[0], tmp_path).round())
    derived.get(clips[1], tmp_path)  # not in the base cache: from the audio
    assert len(audio_calls) == 1
    assert base.cached(clips[1], tmp_path) is None
