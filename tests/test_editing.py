"""Editing invariants on a tiny pipeline: outside-region identity, strength-0 identity, exact
loop and extend lengths, seam continuity, and one-line errors for impossible requests."""

import numpy as np
import pytest

from latentaudio.editing import CROSSFADE_SECONDS, Editor
from latentaudio.errors import LatentAudioError
from latentaudio.evaluation.spectral import spectral_flux

SR = 44_100


@pytest.fixture(scope="module")
def editor(pipe):
    return Editor(pipe)


@pytest.fixture(scope="module")
def clip():
    rng = np.random.default_rng(0)
    t = np.arange(3 * SR) / SR
    mono = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))
    return np.stack([mono, 0.8 * mono]).astype(np.float32)


def test_inpaint_keeps_the_input_outside_the_region_and_has_no_clicks(editor, clip):
    out = editor.inpaint(clip, "a dog barking", 1.0, 2.0, steps=2, seed=3, progress=False)
    assert out.audio.shape == clip.shape and out.audio.dtype == np.float32
    fade = round(CROSSFADE_SECONDS * SR)
    outside = np.ones(clip.shape[-1], dtype=bool)
    outside[SR - fade: 2 * SR + fade] = False
    assert np.array_equal(out.audio[:, outside], clip[:, outside])  # sample for sample
    assert not np.allclose(out.audio[:, SR: 2 * SR], clip[:, SR: 2 * SR])
    steps = np.abs(np.diff(out.audio, axis=-1))
    seams = np.r_[SR - fade: SR + 1, 2 * SR - 1: 2 * SR + fade]
    inside = steps[:, SR + fade: 2 * SR - fade]
    assert steps[:, seams].max() <= 1.1 * max(inside.max(), np.abs(np.diff(clip)).max())


@pytest.mark.parametrize(("start", "end", "message"), [
    (2.0, 1.0, "not inside"), (1.0, 1.0, "not inside"), (-0.5, 1.0, "not inside"),
    (1.0, 9.0, "not inside")])
def test_inpaint_rejects_regions_outside_the_clip(editor, clip, start, end, message):
    with pytest.raises(LatentAudioError, match=message):
        editor.inpaint(clip, "rain", start, end, steps=1, progress=False)


def test_vary_strength_zero_is_the_input_and_one_ignores_it(editor, clip):
    same = editor.vary(clip, "rain", 0.0, progress=False)
    assert np.array_equal(same.audio, clip)
    # Quiet inputs, so that matching their loudness needs no limiting (which is not linear).
    quiet, other = clip * 0.25, clip[:, ::-1].copy() * 0.125
    a = editor.vary(quiet, "rain", 1.0, seed=4, steps=2, progress=False).audio
    b = editor.vary(other, "rain", 1.0, seed=4, steps=2, progress=False).audio
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.999  # same up to the level match
    partial = editor.vary(clip, "rain", 0.5, seed=4, steps=2, progress=False).audio
    assert partial.shape == clip.shape and not np.allclose(partial, a)


@pytest.mark.parametrize("strength", [-0.1, 1.5])
def test_vary_rejects_strength_outside_0_1(editor, clip, strength):
    with pytest.raises(LatentAudioError, match="strength"):
        editor.vary(clip, "rain", strength, progress=False)


def test_extend_reaches_the_exact_length_and_keeps_the_input(editor, clip):
    out = editor.extend(clip, "rain", 7.5, steps=1, seed=1, progress=False)
    assert out.audio.shape == (2, round(7.5 * SR))
    fade = round(CROSSFADE_SECONDS * SR)
    assert np.array_equal(out.audio[:, : clip.shape[-1] - fade], clip[:, : -fade])
    assert out.details["windows"] >= 1 and np.isfinite(out.audio).all()
    with pytest.raises(LatentAudioError, match="not longer"):
        editor.extend(clip, "rain", 2.0, progress=False)


@pytest.mark.parametrize(("bpm", "bars", "beats"), [(120, 1, 4), (97, 2, 3)])
def test_loop_is_exact_and_its_seam_is_as_smooth_as_its_interior(editor, bpm, bars, beats):
    out = editor.loop("a drum groove", bpm, bars, beats_per_bar=beats, steps=2, seed=2,
                      progress=False)
    samples = round(bars * beats * 60 / bpm * SR)
    assert out.audio.shape == (2, samples)
    half = samples // 2
    rolled = np.roll(out.audio, half, axis=-1)  # the wrap-around seam now sits at `half`
    flux = spectral_flux(rolled)
    seam_frames = flux[max(0, half // 256 - 4): half // 256 + 1]
    assert seam_frames.max() <= np.percentile(flux, 95)


def test_loop_rejects_impossible_lengths(editor):
    with pytest.raises(LatentAudioError, match="a loop must be"):
        editor.loop("drums", 120, 40)
    with pytest.raises(LatentAudioError, match="positive"):
        editor.loop("drums", 0, 2)


@pytest.mark.parametrize("values, message", [
    ({"bpm": 1e-308, "bars": 1}, "a loop must be"), ({"bpm": 60, "bars": 64}, "a loop must be"),
    ({"bpm": float("nan"), "bars": 2}, "positive"), ({"bpm": 400, "bars": 1,
                                                    "beats_per_bar": 1}, "a loop must be")])
def test_loop_requests_are_refused_before_any_model_loads(values, message):
    from latentaudio.request import Request

    with pytest.raises(LatentAudioError, match=message):
        Request(operation="loop", prompt="drums", **values).check()


def test_a_silent_generated_region_is_drawn_again(editor, clip, monkeypatch):
    from latentaudio.pipeline import SILENT_SEED_STRIDE

    real_decode = editor.codec.decode
    calls = []

    def silent_first(latents, samples, decoder=None):  # a model that makes silence once
        calls.append(1)
        audio = real_decode(latents, samples, decoder)
        return audio * 0 if len(calls) == 1 else audio

    monkeypatch.setattr(editor.codec, "decode", silent_first)
    out = editor.inpaint(clip, "a dog barking", 1.0, 2.0, steps=1, seed=3, progress=False)
    assert out.seed == 3 + SILENT_SEED_STRIDE and out.details["silent_redraws"] == 1
    calls.clear()
    out = editor.extend(clip, "rain", 4.0, steps=1, seed=5, progress=False)
    assert out.seed == 5 + SILENT_SEED_STRIDE and out.details["silent_redraws"] == 1
    assert np.abs(out.audio[:, 3 * SR:]).max() > 0.001
    calls.clear()
    out = editor.vary(clip, "rain", 0.8, steps=1, seed=7, progress=False)
    assert out.seed == 7 + SILENT_SEED_STRIDE and out.details["silent_redraws"] == 1


def test_too_short_edit_inputs_are_refused_before_any_model_loads():
    from latentaudio.request import Request

    for operation, extra in (("vary", {}), ("inpaint", {"start": 0.0, "end": 0.1}),
                             ("extend", {"seconds": 5.0})):
        with pytest.raises(LatentAudioError, match=r"0\.20 s long, shorter than 0\.5 s"):
            Request(operation=operation, prompt="rain", **extra).check(input_seconds=0.2)
