"""Residual VQ of latents: codes and shapes, prefixes decode, error falls with levels, save/load."""

import itertools

import pytest
import torch

from latentaudio.tokens import ResidualVQ


@pytest.fixture(scope="module")
def trained():
    generator = torch.Generator().manual_seed(0)
    # Latent-like data: a few clusters with spread, (B, C, T).
    centres = torch.randn(6, 8, generator=generator) * 2
    def batch():
        pick = torch.randint(6, (4, 50), generator=generator)
        return (centres[pick] + 0.3 * torch.randn(4, 50, 8, generator=generator)).permute(0, 2, 1)
    model = ResidualVQ(dim=8, levels=4, codebook_size=16)
    for _ in range(30):
        stats = model.update(batch(), generator=generator)
    return model, batch, stats


def test_codes_have_the_right_shape_and_range(trained):
    model, batch, _ = trained
    latents = batch()
    codes = model.encode(latents)
    assert codes.shape == (4, 4, 50) and codes.dtype == torch.int64
    assert int(codes.min()) >= 0 and int(codes.max()) < 16
    assert model.decode(codes).shape == latents.shape
    assert model.encode(latents, levels=2).shape == (4, 2, 50)


def test_error_falls_as_levels_are_added(trained):
    model, batch, stats = trained
    latents = batch()
    codes = model.encode(latents)
    errors = [float((model.decode(codes[:, :n]) - latents).pow(2).mean()) for n in range(1, 5)]
    assert all(a > b for a, b in itertools.pairwise(errors)), errors
    assert errors[-1] < 0.2 * float(latents.var())
    assert stats["mse_4"] < stats["mse_1"]


def test_bitrate_and_bad_requests(trained):
    model, batch, _ = trained
    assert model.bitrate(2) == pytest.approx(2 * 4 * 44_100 / 2048)
    with pytest.raises(ValueError, match="levels"):
        model.encode(batch(), levels=5)
    with pytest.raises(RuntimeError, match="not trained"):
        ResidualVQ(dim=8, levels=2, codebook_size=4).encode(batch())


def test_save_load_round_trip(trained, tmp_path):
    model, batch, _ = trained
    model.save_pretrained(tmp_path / "rvq")
    again = ResidualVQ.from_pretrained(tmp_path / "rvq")
    latents = batch()
    assert torch.equal(again.encode(latents), model.encode(latents))
