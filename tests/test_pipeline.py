"""The pipeline with tiny components: shapes, determinism, batch independence, save -> load."""

import numpy as np
import pytest
import torch

from latentaudio.errors import LatentAudioError, SilentOutputError
from latentaudio.pipeline import LatentAudioPipeline
from latentaudio.postprocess import true_peak


def test_generates_exact_length_stereo_within_the_ceiling(pipe):
    out = pipe("rain on a roof, 1.5 seconds", num_inference_steps=3, seeds=[1], progress=False)
    assert out.audios.shape == (1, 2, round(1.5 * 44_100))
    assert out.audios.dtype == np.float32 and out.sample_rate == 44_100
    assert true_peak(out.audios[0]) <= -1.0 + 1e-6
    assert out.specs[0].seconds == 1.5 and out.specs[0].caption == "rain on a roof"


def test_same_seed_same_audio_and_batch_independence(pipe):
    args = dict(seconds=1.0, num_inference_steps=2, progress=False)
    alone = pipe("a dog", seeds=[7], **args).audios[0]
    again = pipe("a dog", seeds=[7], **args).audios[0]
    batch = pipe(["piano", "a dog", "rain"], seeds=[3, 7, 9], **args).audios
    np.testing.assert_array_equal(alone, again)
    # Batched and single FFTs round differently, and 16 Griffin-Lim iterations carry that
    # along: -80 dB, the tolerance diffusers' own batch test uses.
    np.testing.assert_allclose(batch[1], alone, atol=1e-4)
    assert not np.allclose(batch[0], batch[1])


def test_explicit_options_override_the_prompt(pipe):
    out = pipe("piano at 90 bpm in C major, 3 seconds", seconds=1.0, bpm=120, key="A minor",
               num_inference_steps=1, seeds=[0], progress=False)
    spec = out.specs[0]
    assert (spec.seconds, spec.bpm, spec.key) == (1.0, 120, "A minor")


def test_negative_prompt_changes_the_result(pipe):
    args = dict(seconds=1.0, num_inference_steps=2, seeds=[4], progress=False)
    plain = pipe("piano", **args).audios
    steered = pipe("piano", negative_prompt="dog", **args).audios
    assert not np.allclose(plain, steered)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"prompt": "  "}, "prompt is empty"), ({"prompt": "x", "seconds": 600}, "out of range"),
    ({"prompt": "x", "num_inference_steps": 0}, "at least 1"),
    ({"prompt": ["a", "b"], "generator": [torch.Generator()]}, "pass one per output")])
def test_bad_requests_are_clear(pipe, kwargs, message):
    with pytest.raises(LatentAudioError, match=message):
        pipe(**kwargs, progress=False)


def test_save_load_round_trip(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "model")
    loaded = LatentAudioPipeline.from_pretrained(tmp_path / "model")
    args = dict(seconds=1.0, num_inference_steps=2, seeds=[11], progress=False)
    np.testing.assert_allclose(loaded("a dog on a roof", **args).audios,
                               pipe("a dog on a roof", **args).audios, atol=1e-6)


def test_a_silent_draw_is_made_again_from_the_next_seed(pipe, monkeypatch):
    from latentaudio.pipeline import MAX_SILENT_REDRAWS, SILENT_SEED_STRIDE

    real_decode = pipe.codec.decode
    calls = []

    def silent_at_first(latents, samples, decoder=None):  # a model that outputs silence twice
        calls.append(len(latents))
        audio = real_decode(latents, samples, decoder)
        return audio * 0 if len(calls) <= 2 else audio

    monkeypatch.setattr(pipe.codec, "decode", silent_at_first)
    out = pipe("a wooden door", seeds=[7], seconds=1.0, num_inference_steps=1, progress=False)
    assert out.seeds == [7 + 2 * SILENT_SEED_STRIDE] and out.silent_redraws == [2]
    assert out.mastering[0].loudness_case == "target" and np.abs(out.audios[0]).max() > 0.01
    # Only the silent item is drawn again; the other keeps its first draw.
    calls.clear()
    out = pipe(["a dog", "rain"], seeds=[1, 2], seconds=1.0, num_inference_steps=1,
               progress=False)
    assert calls == [2, 2, 2] and out.seeds == [1 + 2 * SILENT_SEED_STRIDE,
                                                2 + 2 * SILENT_SEED_STRIDE]

    monkeypatch.setattr(pipe.codec, "decode", lambda latents, samples, decoder=None:
                        real_decode(latents, samples, decoder) * 0)
    with pytest.raises(SilentOutputError, match=f"silence {MAX_SILENT_REDRAWS + 1} times"):
        pipe("a wooden door", seeds=[7], seconds=1.0, num_inference_steps=1, progress=False)
    asked = pipe("a wooden door", seeds=[7], seconds=1.0, num_inference_steps=1, progress=False,
                 allow_silence=True)
    assert asked.mastering[0].loudness_case == "silent" and not asked.audios.any()
