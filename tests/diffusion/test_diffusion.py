"""Diffusion: CFG written once, the flow loss, and samplers checked against an ideal denoiser."""

import pytest
import torch

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import KEY_CLASSES, GlobalInputs
from latentaudio.denoisers import DENOISERS, LatentDiT, LatentUNet
from latentaudio.diffusion.flow import flow_loss, initial_noise, sample
from latentaudio.diffusion.guidance import guided


def condition(batch=2, dim=16):
    torch.manual_seed(0)
    return Conditioning(torch.randn(batch, 5, dim), torch.ones(batch, 5, dtype=torch.bool),
                        torch.randn(batch, dim),
                        GlobalInputs(torch.zeros(batch), torch.full((batch,), 4.0),
                                     torch.tensor([120.0] * batch), torch.tensor([3] * batch)))


def tiny_denoiser(name: str):
    torch.manual_seed(0)
    if name == "dit":
        return LatentDiT(latent_channels=4, layers=1, heads=2, key_value_heads=1, head_dim=8,
                         text_dim=16, cross_attention_dim=16, global_dim=16, time_dim=16).eval()
    model = LatentUNet(latent_channels=4, channels=(16, 32), blocks_per_level=1,
                       attention_levels=(False, True), head_dim=16, text_dim=16,
                       cross_attention_dim=16, global_dim=16).eval()
    # The UNet starts at the zero prediction; give its output layer weights so tests see signal.
    torch.nn.init.normal_(model.conv_out.weight, std=0.1)
    return model


@pytest.fixture(scope="module", params=sorted(DENOISERS))
def dit(request):
    return tiny_denoiser(request.param)


@pytest.mark.parametrize("frames", [1, 2, 7, 9, 16])
def test_denoiser_shapes_and_null_conditioning(dit, frames):
    x = torch.randn(2, 4, frames)
    c = condition()
    assert dit(x, torch.rand(2), c).shape == x.shape
    null = c.null_like()
    assert torch.all(null.text_states == 0) and torch.all(null.globals.key == KEY_CLASSES)
    assert torch.isnan(null.globals.bpm).all()
    assert dit(x, torch.rand(2), null).shape == x.shape


def test_padding_does_not_change_the_real_frames(dit):
    """With a latent mask, frames past the real ones do not reach the real ones' prediction."""
    if not isinstance(dit, LatentDiT):
        pytest.skip("the UNet's convolutions see past the mask (the loss is masked instead)")
    x, t, c = torch.randn(1, 4, 8), torch.rand(1), condition(1)
    padded = torch.cat([x, torch.randn(1, 4, 8)], dim=-1)
    mask = torch.arange(16)[None] < 8
    with torch.no_grad():
        full = dit(padded, t, c, latent_mask=mask)[..., :8]
        alone = dit(x, t, c)
    assert torch.allclose(full, alone, atol=1e-4)


def test_denoiser_save_load_identity(dit, tmp_path):
    x, t, c = torch.randn(2, 4, 5), torch.rand(2), condition()
    dit.save_pretrained(tmp_path)
    loaded = type(dit).from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(dit(x, t, c), loaded(x, t, c))


def test_cfg_scale_one_is_the_conditional_prediction(dit):
    x, t, c = torch.randn(2, 4, 7), torch.rand(2), condition()
    with torch.no_grad():
        expected = dit(x, t, c)
        got = guided(dit, x, t, c, c.null_like(), 1.0)
    assert torch.equal(expected, got)


def test_cfg_extrapolates_away_from_the_negative():
    def fake(x, t, c):  # conditional items predict +1, null items 0
        return c.pooled[:, :1, None].abs().gt(0).float().expand_as(x)

    c = condition()
    out = guided(fake, torch.zeros(2, 4, 3), torch.rand(2), c, c.null_like(), 3.0)
    assert torch.allclose(out, torch.full_like(out, 3.0))


def test_conditioning_dropout_mixes_items():
    c = condition()
    dropped = c.drop(torch.tensor([True, False]))
    assert torch.equal(dropped.text_states[0], c.text_states[0])
    assert torch.all(dropped.text_states[1] == 0) and dropped.globals.key[1] == KEY_CLASSES


def test_flow_loss_is_finite_and_masked(dit):
    x0 = torch.randn(2, 4, 8)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[1, 4:] = False
    loss = flow_loss(dit, x0, condition(), mask, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and loss > 0
    loss.backward()


def test_the_loss_counts_only_the_real_frames():
    """With a frame-wise denoiser (it predicts zero), the masked loss is the mean squared
    velocity over the real frames alone: padded frames may hold anything."""
    def zero(x, t, c):
        return torch.zeros_like(x)

    x0 = torch.randn(2, 4, 8)
    mask = torch.ones(2, 8, dtype=torch.bool)
    mask[1, 4:] = False

    def loss(values):
        return flow_loss(zero, values, condition(), mask,
                         generator=torch.Generator().manual_seed(0))

    padded = x0.clone()
    padded[1, :, 4:] = 1e3  # what the padding holds must not matter
    assert torch.equal(loss(x0), loss(padded))
    changed = x0.clone()
    changed[1, :, :4] += 1.0  # the real frames do
    assert not torch.equal(loss(x0), loss(changed))
    # And the value is the mean over the 12 real frames x 4 channels exactly.
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    error = (noise - x0).pow(2)
    expected = (error[0].sum() + error[1, :, :4].sum()) / (12 * 4)
    torch.testing.assert_close(loss(x0), expected)


def test_every_conditioning_input_changes_the_prediction():
    """Text, pooled text, timing, tempo, key, melody and style each reach the output (weights
    drawn at random, so no zero-initialised path hides one)."""
    model = LatentDiT(latent_channels=4, layers=1, heads=2, key_value_heads=1, head_dim=8,
                      text_dim=16, cross_attention_dim=16, global_dim=16, time_dim=16,
                      melody_bins=12, style_dim=8).eval()
    torch.manual_seed(1)
    for parameter in model.parameters():
        parameter.data.normal_(0, 0.2)
    x, t = torch.randn(1, 4, 8), torch.full((1,), 0.5)
    base = condition(batch=1)
    base.melody, base.style = torch.zeros(1, 12, 8), torch.zeros(1, 8)
    base.melody[0, 3] = 1.0
    with torch.no_grad():
        reference = model(x, t, base)
        changes = {
            "text": dict(text_states=base.text_states + 1.0),
            "pooled": dict(pooled=-base.pooled),
            "melody": dict(melody=torch.roll(base.melody, 2, dims=1)),
            "style": dict(style=torch.ones(1, 8)),
        }
        for name, change in changes.items():
            other = Conditioning(**{**base.__dict__, **change})
            assert not torch.allclose(model(x, t, other), reference, atol=1e-5), name
        for name, value in (("seconds_total", torch.tensor([9.0])),
                            ("bpm", torch.tensor([80.0])), ("key", torch.tensor([7]))):
            globals_ = GlobalInputs(**{**base.globals.__dict__, name: value})
            other = Conditioning(**{**base.__dict__, "globals": globals_})
            assert not torch.allclose(model(x, t, other), reference, atol=1e-5), name


def _ideal(s):
    def velocity(x, t, c):
        t = t[:, None, None]
        return (t - (1 - t) * s**2) / ((1 - t) ** 2 * s**2 + t**2) * x
    return velocity


@pytest.mark.parametrize(("scheduler", "steps"), [("euler", 100), ("dpm++", 12)])
def test_ideal_gaussian_denoiser_returns_data_scaled_noise(scheduler, steps):
    # Data ~ N(0, s^2): the exact velocity E[noise - x0 | x_t] is linear in x_t; integrating it
    # must turn unit noise into samples of standard deviation s (STYLE.md's analytic check).
    s = 0.5
    noise = initial_noise((64, 4, 32), [torch.Generator().manual_seed(i) for i in range(64)])
    out = sample(_ideal(s), noise, condition(64), steps=steps, guidance=1.0, scheduler=scheduler)
    assert float(out.std()) == pytest.approx(s, rel=0.03)  # Euler is first order: more steps


def test_noise_of_item_i_does_not_depend_on_the_batch():
    one = initial_noise((1, 4, 8), [torch.Generator().manual_seed(7)])
    three = initial_noise((3, 4, 8), [torch.Generator().manual_seed(s) for s in (5, 7, 9)])
    assert torch.equal(one[0], three[1])


def test_sdedit_start_keeps_the_data_distribution_and_forgets_with_strength():
    s = 0.5
    data = torch.randn(64, 4, 32, generator=torch.Generator().manual_seed(1)) * s
    noise = initial_noise(data.shape, [torch.Generator().manual_seed(i) for i in range(64)])
    assert torch.equal(sample(_ideal(s), noise, condition(64), guidance=1.0, start=0.0,
                              start_latents=data), data)
    correlations = []
    for start in (0.2, 0.5, 0.8):
        out = sample(_ideal(s), noise, condition(64), steps=12, guidance=1.0, start=start,
                     start_latents=data)
        assert float(out.std()) == pytest.approx(s, rel=0.05)
        correlations.append(float(torch.corrcoef(torch.stack([out.flatten(),
                                                              data.flatten()]))[0, 1]))
    assert correlations[0] > correlations[1] > correlations[2] > 0


def test_known_values_are_kept_exactly_and_the_rest_is_generated():
    s = 0.5
    known = torch.randn(8, 4, 32, generator=torch.Generator().manual_seed(2)) * s
    mask = torch.zeros(8, 1, 32, dtype=torch.bool)
    mask[..., :12] = True
    noise = initial_noise(known.shape, [torch.Generator().manual_seed(i) for i in range(8)])
    for scheduler in ("dpm++", "euler"):
        out = sample(_ideal(s), noise, condition(8), steps=12, guidance=1.0, known=known,
                     known_mask=mask, scheduler=scheduler)
        assert torch.equal(out[..., :12], known[..., :12])
        assert float(out[..., 12:].std()) == pytest.approx(s, rel=0.15)


def test_editing_hooks_reject_bad_arguments():
    noise = torch.randn(1, 4, 8)
    with pytest.raises(ValueError, match="start"):
        sample(_ideal(0.5), noise, condition(1), start=1.5, start_latents=noise)
    with pytest.raises(ValueError, match="start_latents"):
        sample(_ideal(0.5), noise, condition(1), start=0.5)
    with pytest.raises(ValueError, match="together"):
        sample(_ideal(0.5), noise, condition(1), known=noise)
