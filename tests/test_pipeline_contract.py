"""The diffusers contract: what code written for diffusers' audio pipelines expects of ours.

Outputs (BaseOutput, return_dict, output_type), prompt embeddings, latents, waveforms per
prompt, step-end callbacks, StableAudioPipeline's argument names, components set to None,
dtype and device placement, layerwise casting, and diffusers' generic loader on a saved and on
the shipped folder.
"""

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput

from latentaudio.diffusion.flow import initial_noise
from latentaudio.errors import LatentAudioError
from latentaudio.folders import write_loader
from latentaudio.pipeline import LatentAudioPipeline
from tests.fixtures import tiny_pipeline

FAST = dict(audio_end_in_s=1.0, num_inference_steps=2, progress=False)


def generators(count, first=0):
    return [torch.Generator().manual_seed(first + i) for i in range(count)]


def test_outputs_follow_diffusers(pipe):
    out = pipe("rain", generator=generators(1), **FAST)
    assert isinstance(out, BaseOutput) and out[0] is out.audios
    assert out.audios.shape == (1, 2, 44_100) and isinstance(out.audios, np.ndarray)
    as_tuple = pipe("rain", generator=generators(1), return_dict=False, **FAST)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 1
    np.testing.assert_array_equal(as_tuple[0], out.audios)
    as_tensor = pipe("rain", generator=generators(1), output_type="pt", **FAST).audios
    assert isinstance(as_tensor, torch.Tensor)
    np.testing.assert_array_equal(as_tensor.numpy(), out.audios)
    latents = pipe("rain", generator=generators(1), output_type="latent", **FAST).audios
    assert latents.shape == (1, pipe.vae.config.latent_channels, 22)
    with pytest.raises(LatentAudioError, match="unknown output_type"):
        pipe("rain", output_type="pil", **FAST)


def test_waveforms_per_prompt_are_each_their_own_draw(pipe):
    out = pipe(["rain", "a dog"], num_waveforms_per_prompt=2, generator=generators(4), **FAST)
    assert out.audios.shape[0] == 4
    assert [s.caption for s in out.specs] == ["rain", "rain", "a dog", "a dog"]
    # Output 3 (second of "a dog") is the same alone, given the same generator (to float
    # rounding: batched and single FFTs differ, and phase retrieval carries it; seen 1e-4).
    alone = pipe("a dog", generator=generators(1, first=3), **FAST).audios[0]
    np.testing.assert_allclose(out.audios[3], alone, atol=5e-4)
    assert not np.allclose(out.audios[0], out.audios[1])
    with pytest.raises(LatentAudioError, match="2 generators for 4 outputs"):
        pipe(["rain", "a dog"], num_waveforms_per_prompt=2, generator=generators(2), **FAST)


def test_prompt_embeds_give_what_the_words_give(pipe):
    words = pipe("piano at 90 bpm, 1 second", negative_prompt="noise", bpm=90,
                 generator=generators(1), **FAST).audios
    embeds, negative, mask, negative_mask = pipe.encode_prompt(
        "piano at 90 bpm, 1 second", negative_prompt="noise")
    # The states are the caption's: timing and tempo are read out of the words first.
    caption_only = pipe.encode_prompt("piano")[0]
    torch.testing.assert_close(embeds, caption_only)
    given = pipe(prompt_embeds=embeds, negative_prompt_embeds=negative, attention_mask=mask,
                 negative_attention_mask=negative_mask, bpm=90, generator=generators(1),
                 **FAST).audios
    np.testing.assert_allclose(given, words, atol=1e-5)
    with pytest.raises(LatentAudioError, match="not both"):
        pipe("piano", prompt_embeds=embeds, **FAST)
    with pytest.raises(LatentAudioError, match="give a prompt"):
        pipe(**FAST)


def test_latents_set_the_starting_noise(pipe):
    shape = (1, pipe.vae.config.latent_channels, 22)
    noise = initial_noise(shape, generators(1, first=5))
    from_seed = pipe("rain", seeds=[5], **FAST).audios
    from_latents = pipe("rain", latents=noise, generator=generators(1, first=99), **FAST).audios
    np.testing.assert_array_equal(from_latents, from_seed)
    with pytest.raises(LatentAudioError, match="latents must have shape"):
        pipe("rain", latents=torch.zeros(1, 2, 3), **FAST)


def test_step_end_callback_sees_and_changes_the_latents_and_guidance(pipe):
    seen = []

    def zero_last(p, i, t, values):
        seen.append((i, sorted(values)))
        p._guidance_scale += 1.0
        if i == p.num_timesteps - 1:
            values["latents"] = torch.zeros_like(values["latents"])
        return values

    out = pipe("rain", guidance_scale=2.0, callback_on_step_end=zero_last,
               callback_on_step_end_tensor_inputs=["latents"], output_type="latent",
               generator=generators(1), **FAST)
    assert seen == [(0, ["latents"]), (1, ["latents"])]
    assert pipe.guidance_scale == 2.0 + pipe.num_timesteps
    assert out.audios.abs().sum() == 0
    with pytest.raises(LatentAudioError, match="may name only"):
        pipe("rain", callback_on_step_end=zero_last,
             callback_on_step_end_tensor_inputs=["prompt_embeds"], **FAST)


def test_guidance_scale_changed_by_a_callback_changes_the_result(pipe):
    def stronger(p, i, t, values):
        p._guidance_scale = 9.0
        return values

    plain = pipe("rain", generator=generators(1), **FAST).audios
    steered = pipe("rain", generator=generators(1), callback_on_step_end=stronger,
                   **FAST).audios
    assert not np.allclose(plain, steered)


def test_stable_audio_names(pipe):
    out = pipe("rain", audio_start_in_s=2.0, audio_end_in_s=3.5, num_inference_steps=1,
               progress=False)
    assert out.audios.shape[-1] == round(1.5 * 44_100) and out.specs[0].seconds == 1.5
    with pytest.raises(LatentAudioError, match="disagree"):
        pipe("rain", seconds=2.0, audio_end_in_s=3.0, progress=False)
    with pytest.raises(LatentAudioError, match="must be after"):
        pipe("rain", audio_start_in_s=2.0, audio_end_in_s=1.0, progress=False)
    with pytest.raises(LatentAudioError, match="out of range"):
        pipe("rain", audio_end_in_s=100.0, progress=False)


def test_timing_start_reaches_the_model(pipe):
    at_zero = pipe("rain", generator=generators(1), output_type="latent", **FAST).audios
    later = pipe("rain", generator=generators(1), output_type="latent", audio_start_in_s=20.0,
                 audio_end_in_s=21.0, num_inference_steps=2, progress=False).audios
    assert not torch.allclose(at_zero, later)


def test_components_may_be_none(pipe):
    text_only = LatentAudioPipeline(vae=None, denoiser=None, scheduler=None,
                                    text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer)
    embeds, negative, mask, negative_mask = text_only.encode_prompt("rain")
    no_text = LatentAudioPipeline(vae=pipe.vae, vocoder=None, denoiser=pipe.denoiser,
                                  scheduler=pipe.scheduler, text_encoder=None, tokenizer=None)
    out = no_text(prompt_embeds=embeds, negative_prompt_embeds=negative, attention_mask=mask,
                  negative_attention_mask=negative_mask, generator=generators(1), **FAST)
    full = pipe("rain", generator=generators(1), **FAST)
    np.testing.assert_allclose(out.audios, full.audios, atol=1e-5)
    with pytest.raises(LatentAudioError, match="no text encoder"):
        no_text("rain", **FAST)
    with pytest.raises(LatentAudioError, match="needs a vocoder"):
        no_text(prompt_embeds=embeds, decoder="vocoder", **FAST)


def test_dtype_placement_float64_and_bfloat16_with_layerwise_casting():
    """Every tensor the pipeline makes follows the denoiser's dtype: float64 weights meet
    float64 latents everywhere, or torch raises."""
    tiny = tiny_pipeline()
    reference = tiny("rain", generator=generators(1), **FAST).audios
    tiny.to(torch.float64)
    latents = tiny("rain", generator=generators(1), output_type="latent", **FAST).audios
    assert latents.dtype == torch.float64
    audio = tiny("rain", generator=generators(1), **FAST).audios
    np.testing.assert_allclose(audio, reference, atol=2e-3)
    tiny.to(torch.bfloat16)
    tiny.denoiser.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn,
                                           compute_dtype=torch.bfloat16)
    audio = tiny("rain", generator=generators(1), **FAST).audios
    assert np.isfinite(audio).all() and audio.shape == reference.shape


def test_device_placement_nothing_lands_on_the_default_device(pipe):
    """With torch's default device set to "meta", any tensor made without the pipeline's
    device would land there and fail against the CPU weights: noise, timesteps, conditioning
    and every decoder must be made on the execution device."""
    embeds, negative, mask, negative_mask = pipe.encode_prompt("rain")
    assert pipe.codec  # built before: its filterbanks are buffers, moved with the pipeline
    for decoder in ("hybrid", "griffin-lim", "vocoder"):
        with torch.device("meta"):
            out = pipe(prompt_embeds=embeds, negative_prompt_embeds=negative,
                       attention_mask=mask, negative_attention_mask=negative_mask,
                       decoder=decoder, generator=generators(1), **FAST)
        assert np.isfinite(out.audios).all()


def test_diffusers_generic_loader_reads_a_saved_folder(pipe, tmp_path):
    pipe.save_pretrained(tmp_path / "model")
    write_loader(tmp_path / "model", LatentAudioPipeline)
    loaded = DiffusionPipeline.from_pretrained(tmp_path / "model", trust_remote_code=True)
    assert type(loaded) is LatentAudioPipeline
    audio = loaded("rain", num_waveforms_per_prompt=2, return_dict=False,
                   generator=generators(2), **FAST)[0]
    expected = pipe("rain", num_waveforms_per_prompt=2, generator=generators(2), **FAST).audios
    np.testing.assert_allclose(audio, expected, atol=1e-5)
    # The package's own class trusts a loader file that is exactly its own, and only that.
    assert type(LatentAudioPipeline.from_pretrained(tmp_path / "model")) is LatentAudioPipeline
    (tmp_path / "model" / "pipeline.py").write_text("import os\n" + (
        tmp_path / "model" / "pipeline.py").read_text())
    with pytest.raises(ValueError, match="trust_remote_code"):
        LatentAudioPipeline.from_pretrained(tmp_path / "model")


def test_the_shipped_folder_loads_through_diffusers():
    from latentaudio.codec import DEFAULT_MODEL

    loaded = DiffusionPipeline.from_pretrained(DEFAULT_MODEL, trust_remote_code=True)
    audio = loaded("rain on a tin roof", num_waveforms_per_prompt=2, return_dict=False,
                   generator=generators(2), **FAST)[0]
    assert audio.shape == (2, 2, 44_100) and np.isfinite(audio).all()
    assert not np.allclose(audio[0], audio[1])


def test_initial_audio_as_stable_audio_takes_it(pipe):
    plain = pipe("rain", generator=generators(1), output_type="latent", **FAST).audios
    audio = torch.from_numpy(np.random.default_rng(0).standard_normal((1, 30_000)) * 0.1)
    kwargs = dict(initial_audio_waveforms=audio, initial_audio_sampling_rate=44_100,
                  generator=generators(1), output_type="latent", **FAST)
    ignored = pipe("rain", strength=1.0, **kwargs).audios
    torch.testing.assert_close(ignored, plain)  # strength 1 enters the flow at pure noise
    kept = pipe("rain", strength=0.0, **kwargs).audios
    padded = torch.zeros(1, 2, 44_100)
    padded[..., :30_000] = audio.float()
    torch.testing.assert_close(kept, pipe.codec.encode(padded))  # 0 returns the input's latents
    varied = pipe("rain", strength=0.5, **kwargs).audios
    assert not torch.allclose(varied, plain) and not torch.allclose(varied, kept)
    with pytest.raises(LatentAudioError, match="must be 44100"):
        pipe("rain", initial_audio_waveforms=audio, initial_audio_sampling_rate=16_000, **FAST)


def test_callback_steps_thin_the_progress_hook(pipe):
    calls = []
    pipe("rain", num_inference_steps=5, audio_end_in_s=1.0, progress=False, callback_steps=2,
         callback=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
