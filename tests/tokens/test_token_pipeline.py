"""The token generator with tiny components: exact length, windows past the training crop,
lyrics planned over sections, determinism, and the safety filter."""

import numpy as np
import pytest
import torch

from latentaudio.errors import LatentAudioError
from latentaudio.tokens import ResidualVQ
from latentaudio.tokens.fine import FineModel
from latentaudio.tokens.lm import CoarseLM
from latentaudio.tokens.pipeline import TokenPipeline, plan_sections, plan_windows
from tests.fixtures import tiny_text_encoder


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


@pytest.mark.parametrize("total", [1, 100, 215, 216, 322, 324, 431, 2584])
def test_windows_cover_the_song_with_no_sliver_at_the_end(total):
    """10 s windows with 5 s of context at the default codec's 21.5 frames a second: every
    frame is made once, within the model's window, and no window after the first adds less
    than half a step (a 20 s song used to end on a 0.1 s window that sang the outro)."""
    window, context = 215, 108
    plan = plan_windows(total, window, context)
    assert sum(new for _, new in plan) == total and plan[0][0] == 0
    have = 0
    for keep, new in plan:
        assert keep <= min(context, have) and keep >= min(context, have) / 2
        assert 0 < new and keep + new <= window
        have += new
    assert all(new >= (window - context) / 2 for _, new in plan[1:])


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
    # The report of which words went where: contiguous spans over the whole song, in order.
    schedule = out.lyrics_schedule[0]
    assert [entry["words"] for entry in schedule] == [["hello", "there"], ["sing", "it", "loud"]]
    assert schedule[0]["start"] == 0 and schedule[0]["end"] == schedule[1]["start"]
    assert schedule[-1]["end"] == pytest.approx(12.0, abs=0.1)
    long = pipe("a pop song", seconds=40.0, lyrics=lyrics, seed=1, progress=False)
    sections = [entry["section"] for entry in long.lyrics_schedule[0]]
    assert sections[0] is None and sections[-1] is None and "chorus" in sections
    assert pipe("a pop song", seconds=4.0, seed=1, progress=False).lyrics_schedule is None


def test_the_lyrics_reach_the_coarse_model(pipe, monkeypatch):
    """Each window's coarse model is given that window's section of the lyrics, encoded."""
    from latentaudio.tokens import pipeline as token_pipeline
    from latentaudio.tokens.lyrics import encode_lyrics

    seen = []
    generate = token_pipeline.generate

    def spy(model, inputs, *args, **kwargs):
        seen.append(inputs.lyrics.clone())
        return generate(model, inputs, *args, **kwargs)

    monkeypatch.setattr(token_pipeline, "generate", spy)
    lyrics = "[verse]\nhello there\n[chorus]\nsing it loud\n"
    pipe("a pop song", seconds=12.0, lyrics=lyrics, seed=1, progress=False)
    plan = plan_sections(lyrics, len(seen))
    assert len(seen) == 2 and plan == ["[verse]\nhello there", "[chorus]\nsing it loud"]
    for track, section in zip(seen, plan, strict=True):
        assert torch.equal(track[0], encode_lyrics(section, "en-us"))
    seen.clear()
    pipe("a pop song", seconds=12.0, seed=1, progress=False)
    assert all(track.numel() == 0 for track in seen)  # no lyrics: an empty track


def test_the_coarse_model_reads_the_lyrics(pipe):
    """The words change the coarse model's next-token logits: they are attended to."""
    from latentaudio.conditioning.condition import encode_specs
    from latentaudio.conditioning.prompt import resolve_prompt
    from latentaudio.tokens.lm import LMInputs
    from latentaudio.tokens.lyrics import encode_lyrics

    spec = resolve_prompt("a pop song", seconds=4.0, default_seconds=None)
    condition = encode_specs(pipe.tokenizer, pipe.text_encoder, [spec])
    codes = torch.zeros(1, 0, dtype=torch.long)
    with torch.no_grad():
        logits = {text: pipe.coarse(codes, LMInputs(condition, encode_lyrics(text, "en-us")[None]))
                  for text in ("[verse]\nhello there", "[verse]\ngoodbye now")}
        silent = pipe.coarse(codes, LMInputs(condition, torch.zeros(1, 0, dtype=torch.long)))
    first, second = logits.values()
    assert not torch.allclose(first, second) and not torch.allclose(first, silent)


def test_bad_requests(pipe):
    with pytest.raises(LatentAudioError, match="living artist"):
        pipe("a song in the style of Adele", seconds=2.0, progress=False)
    with pytest.raises(LatentAudioError, match="out of range"):
        pipe("a song", seconds=1000.0, progress=False)
