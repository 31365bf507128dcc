"""The token generator with tiny components: exact length, windows past the training crop,
lyrics planned over sections, determinism, and the safety filter."""

import numpy as np
import pytest
import torch

from latentaudio.errors import LatentAudioError
from latentaudio.tokens import ResidualVQ
from latentaudio.tokens.fine import FineModel
from latentaudio.tokens.lm import CoarseLM
from latentaudio.tokens.pipeline import TokenPipeline, plan_sections
from tests.test_pipeline import tiny_text_encoder


@pytest.fixture(scope="module")
def pipe():
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    torch.manual_seed(0)
    text_encoder, tokenizer = tiny_text_encoder()
    rvq = ResidualVQ(dim=4, levels=3, codebook_size=8)
    for _ in range(3):
        rvq.update(torch.randn(2, 4, 100))
    return TokenPipeline(
        vae=MelVAE(latent_channels=4, hidden_channels=16, encoder_blocks=1, decoder_blocks=1),
        vocoder=Vocoder(hidden_channels=16, layers=1), tokens=rvq,
        coarse=CoarseLM(codebook_size=8, layers=1, heads=2, width=16, max_positions=512,
                        text_dim=16).eval(),
        fine=FineModel(codebook_size=8, levels=3, layers=1, heads=2, width=16,
                       max_frames=128).eval(),
        text_encoder=text_encoder, tokenizer=tokenizer)


def test_long_outputs_run_in_windows_to_the_exact_length(pipe):
    out = pipe("a slow piano piece", seconds=14.0, seed=3, progress=False)
    assert out.audios.shape == (1, 2, 14 * 44_100)
    again = pipe("a slow piano piece", seconds=14.0, seed=3, progress=False)
    np.testing.assert_array_equal(out.audios, again.audios)
    assert out.mastering[0].watermark is not None


def test_lyrics_follow_the_sections(pipe):
    lyrics = "[verse]\nhello there\n[chorus]\nsing it loud\n"
    assert plan_sections(lyrics, 2) == ["[verse]\nhello there", "[chorus]\nsing it loud"]
    # Long enough: an instrumental intro and outro around the sung sections.
    plan = plan_sections(lyrics, 8)
    assert plan[0] == "" and plan[-1] == ""
    assert plan[2].startswith("[verse]") and plan[5].startswith("[chorus]")
    assert plan_sections("[intro]\n[verse]\nhi\n[outro]\nbye", 6)[-1] == "[outro]\nbye"
    out = pipe("a pop song", seconds=12.0, lyrics=lyrics, seed=1, progress=False)
    assert out.audios.shape == (1, 2, 12 * 44_100)


def test_bad_requests(pipe):
    with pytest.raises(LatentAudioError, match="living artist"):
        pipe("a song in the style of Adele", seconds=2.0, progress=False)
    with pytest.raises(LatentAudioError, match="out of range"):
        pipe("a song", seconds=1000.0, progress=False)
