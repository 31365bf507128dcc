"""Melody and style conditioning: the features, the zero-start paths, training and generation."""

import numpy as np
import pytest
import torch

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import GlobalInputs
from latentaudio.conditioning.reference import CHROMA_BINS, fit_frames, melody_chroma
from latentaudio.denoisers.dit import LatentDiT
from latentaudio.denoisers.unet import LatentUNet
from latentaudio.errors import LatentAudioError
from tests.signals import sine

HOP = 2048  # the default VAE's samples per latent frame


def test_melody_is_the_dominant_pitch_class_per_frame_and_silence_is_none():
    a4, c5 = sine(440.0, seconds=1.0), sine(523.25, seconds=1.0)
    audio = np.concatenate([a4, np.zeros_like(a4), c5], axis=1)
    chroma = melody_chroma(audio, 44_100, HOP).numpy()
    assert chroma.shape == (CHROMA_BINS, audio.shape[1] // HOP + 1)
    assert set(np.unique(chroma)) <= {0.0, 1.0} and chroma.sum(axis=0).max() == 1.0
    frames_per_second = 44_100 / HOP
    first, middle, last = (chroma[:, round(t * frames_per_second)] for t in (0.5, 1.5, 2.5))
    assert first.argmax() == 9 and first.sum() == 1  # A
    assert middle.sum() == 0  # silence carries no note
    assert last.argmax() == 0 and last.sum() == 1  # C


def test_melody_of_silence_or_a_blip_has_the_right_frame_count():
    assert melody_chroma(np.zeros((2, 10_000), np.float32), 44_100, HOP).abs().sum() == 0
    blip = melody_chroma(sine(440.0, seconds=0.02), 44_100, HOP)
    assert blip.shape == (CHROMA_BINS, round(0.02 * 44_100) // HOP + 1)


def test_fit_frames_crops_or_pads_with_silence():
    values = torch.ones(12, 5)
    assert fit_frames(values, 3).shape == (12, 3)
    padded = fit_frames(values, 8)
    assert padded.shape == (12, 8) and padded[:, 5:].abs().sum() == 0


def _condition(batch, dim=16, frames=6, melody=True, style=True):
    generator = torch.Generator().manual_seed(0)
    return Conditioning(
        torch.randn(batch, 5, dim, generator=generator), torch.ones(batch, 5, dtype=torch.bool),
        torch.randn(batch, dim, generator=generator),
        GlobalInputs(torch.zeros(batch), torch.full((batch,), 4.0),
                     torch.full((batch,), 120.0), torch.zeros(batch, dtype=torch.long)),
        torch.rand(batch, CHROMA_BINS, frames, generator=generator) if melody else None,
        torch.randn(batch, 512, generator=generator) if style else None)


TINY = dict(latent_channels=4, text_dim=16, cross_attention_dim=16, global_dim=16)
DENOISERS = {
    "dit": lambda **extra: LatentDiT(layers=1, heads=2, key_value_heads=1, head_dim=8,
                                     time_dim=16, **TINY, **extra),
    "unet": lambda **extra: LatentUNet(channels=(8, 16), blocks_per_level=1,
                                       attention_levels=(False, True), head_dim=8,
                                       **TINY, **extra),
}


@pytest.mark.parametrize("kind", DENOISERS)
def test_reference_paths_start_at_zero_and_then_learn(kind):
    torch.manual_seed(0)
    plain = DENOISERS[kind]()
    with torch.no_grad():  # a trained output layer, not the zero one a fresh UNet starts with
        for weight in plain.parameters():
            if weight.ndim > 1 and not weight.any():
                weight.normal_(std=0.05)
    model = DENOISERS[kind](melody_bins=CHROMA_BINS, style_dim=512)
    missing, unexpected = model.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(n.startswith("reference_embedder.") for n in missing)
    x, time = torch.randn(2, 4, 6), torch.tensor([0.3, 0.8])
    condition = _condition(2)
    words_only = Conditioning(condition.text_states, condition.text_mask, condition.pooled,
                              condition.globals)
    with torch.no_grad():
        expected = plain(x, time, words_only)
        torch.testing.assert_close(model(x, time, condition), expected)  # zero-initialised
        torch.testing.assert_close(model(x, time, words_only), expected)
    model(x, time, condition).pow(2).mean().backward()
    embedder = model.reference_embedder
    assert embedder.melody[-1].weight.grad.abs().sum() > 0
    assert embedder.style[-1].weight.grad.abs().sum() > 0
    with torch.no_grad():
        for layer in (embedder.melody[-1], embedder.style[-1]):
            layer.weight.normal_(std=0.1)
        changed = model(x, time, condition)
        torch.testing.assert_close(model(x, time, condition.null_like()),
                                   model(x, time, words_only.null_like()))  # zeros add nothing
    assert not torch.allclose(changed, expected)


@pytest.mark.parametrize("name", ["melody", "style"])
def test_a_model_without_the_path_refuses_the_reference(name):
    model = DENOISERS["dit"]()
    condition = _condition(1, melody=name == "melody", style=name == "style")
    with pytest.raises(LatentAudioError, match=f"not trained with {name}"):
        model(torch.randn(1, 4, 6), torch.tensor([0.5]), condition)


def test_null_where_and_cat_carry_the_references():
    condition = _condition(3)
    null = condition.null_like()
    assert null.melody.abs().sum() == 0 and null.style.abs().sum() == 0
    wordless = condition.without_text()
    assert wordless.pooled.abs().sum() == 0 and torch.equal(wordless.style, condition.style)
    mixed = condition.where(torch.tensor([True, False, True]), null)
    assert mixed.style[1].abs().sum() == 0 and torch.equal(mixed.melody[2], condition.melody[2])
    both = Conditioning.cat([condition, null])
    assert both.melody.shape == (6, CHROMA_BINS, 6) and both.style.shape == (6, 512)
    with pytest.raises(ValueError, match="melody"):
        Conditioning.cat([condition, _condition(1, melody=False)])


def test_training_dropout_gives_every_branch():
    from latentaudio.conditioning.text import TinyTextEncoder
    from latentaudio.train.tasks import DiffusionTask

    count = 400
    batch = {"caption": ["a tone"] * count, "bpm": torch.full((count,), float("nan")),
             "key": [""] * count, "seconds_start": torch.zeros(count),
             "seconds_total": torch.full((count,), 2.0), "features": torch.randn(count, 4, 6),
             "mask": torch.ones(count, 6, dtype=torch.bool),
             "melody": torch.ones(count, CHROMA_BINS, 6), "style": torch.ones(count, 512)}
    task = DiffusionTask(DENOISERS["dit"](melody_bins=12, style_dim=512),
                         TinyTextEncoder(16), seed=0)
    condition = task.prepare(batch)["condition"]
    has_melody = condition.melody.flatten(1).any(1)
    has_style = condition.style.any(1)
    has_text = condition.pooled.any(1)
    for share, expected in ((has_melody.float().mean(), 0.45), (has_style.float().mean(), 0.45),
                            ((has_style & ~has_text).float().mean(), 0.135),
                            ((~has_text & ~has_style & ~has_melody).float().mean(), 0.1)):
        assert abs(float(share) - expected) < 0.07, (share, expected)


def test_dataset_crops_frame_extras_with_the_features_and_keeps_clip_extras_whole(tmp_path):
    from latentaudio.audio import save_audio
    from latentaudio.data.dataset import ClipDataset, FeatureCache
    from latentaudio.data.manifest import Clip

    save_audio(tmp_path / "a.wav", sine(440.0, seconds=3.0))
    clip = Clip(id="a", path="a.wav", caption="a tone", tags=[], source="test", license="CC0",
                seconds=3.0, split="train")

    def ramp(audio):
        return torch.arange(30, dtype=torch.float32)[None].repeat(2, 1)  # frame index, 10 fps

    features = FeatureCache(ramp, 10.0, tmp_path / "cache", "ramp")
    extras = {"melody": FeatureCache(lambda a: ramp(a)[:1] * 2, 10.0, tmp_path / "cache",
                                     "double"),
              "style": FeatureCache(lambda a: torch.ones(512), 1.0, tmp_path / "cache", "one",
                                    per_clip=True)}
    dataset = ClipDataset([clip], tmp_path, seconds=1.0, features=features, extras=extras)
    for epoch in range(4):
        dataset.set_epoch(epoch)
        item = dataset[0]
        assert torch.equal(item["melody"][0], item["features"][0] * 2)
        assert item["style"].shape == (512,)


def test_pipeline_follows_a_melody_and_a_wordless_style(pipe, monkeypatch):
    from latentaudio.conditioning import reference

    model = LatentDiT(latent_channels=4, layers=1, heads=2, key_value_heads=1, head_dim=8,
                      text_dim=16, cross_attention_dim=16, global_dim=16, time_dim=16,
                      melody_bins=12, style_dim=512)
    model.load_state_dict(pipe.denoiser.state_dict(), strict=False)
    for layer in (model.reference_embedder.melody[-1], model.reference_embedder.style[-1]):
        torch.nn.init.normal_(layer.weight, std=0.5)
    monkeypatch.setattr(pipe, "denoiser", model)

    class FakeStyle:  # the aisfx tower is exercised by the CLI test
        def __call__(self, audio):
            return torch.full((512,), float(np.abs(audio).mean()))

    monkeypatch.setattr(reference, "StyleEmbedder", FakeStyle)
    monkeypatch.setattr("latentaudio.pipeline.StyleEmbedder", FakeStyle)
    args = dict(num_inference_steps=2, seeds=[1], progress=False)
    hum = sine(440.0, seconds=1.5)
    plain = pipe("a piano", seconds=1.0, **args).audios[0]
    melodic = pipe("a piano", melody=hum, **args)
    assert melodic.specs[0].seconds == 1.5  # the reference sets the duration
    assert not np.allclose(pipe("a piano", seconds=1.0, melody=hum, **args).audios[0], plain)
    styled = pipe("", seconds=1.0, style=hum, **args).audios[0]
    assert styled.shape == plain.shape and not np.allclose(styled, plain)
    with pytest.raises(LatentAudioError, match="prompt is empty"):
        pipe("", seconds=1.0, melody=hum, **args)
    with pytest.raises(LatentAudioError, match="non-empty audio"):
        pipe("a piano", seconds=1.0, melody=np.zeros((2, 0), np.float32), **args)
    with pytest.raises(LatentAudioError, match="2 style references for 1 prompts"):
        pipe("a piano", seconds=1.0, style=[hum, hum], **args)
