"""Evaluation helpers: spectral distances and aisfx embeddings."""

import numpy as np
import pytest
import torch

from latentaudio.conditioning.aisfx import AisfxEmbedder, cosine
from latentaudio.evaluation.spectral import log_mel_l1, spectral_convergence
from latentaudio.mel import MelSpectrogram
from tests.signals import sine


@pytest.fixture(scope="module")
def embedder():
    return AisfxEmbedder()


def test_aisfx_embeddings_tell_sounds_apart(embedder):
    tone = sine(440.0, seconds=3.0)
    noise = np.random.default_rng(0).normal(0, 0.2, tone.shape).astype(np.float32)
    a, b = embedder.embed(tone), embedder.embed(tone * 0.5)  # level does not matter
    assert a.shape == (512,)
    assert cosine(a, b) == pytest.approx(1.0, abs=1e-4)
    assert cosine(a, embedder.embed(noise)) < 0.95
    assert embedder.embed(sine(seconds=0.3)).shape == (512,)  # shorter than one block


def test_spectral_distances_are_zero_for_identical_audio():
    mel = MelSpectrogram()
    wav = torch.from_numpy(sine(seconds=0.5))[None]
    assert log_mel_l1(wav, wav, mel) == 0.0
    assert spectral_convergence(wav, wav, mel) == 0.0
    assert spectral_convergence(wav, wav * 0.5, mel) == pytest.approx(0.5, abs=1e-4)
    with pytest.raises(ValueError, match="shapes differ"):
        log_mel_l1(wav, wav[..., :100], mel)
