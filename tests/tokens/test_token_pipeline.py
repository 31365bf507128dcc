"""The token generator with tiny components: exact length, windows past the training crop,
lyrics planned over sections, determinism, and the safety filter."""

import numpy as np
import pytest
import torch

from latentaudio.errors import LatentAudioError
from latentaudio.tokens import ResidualVQ
from latentaudio.tokens.fine import FineModel
from latentaudio.tokens.lm import CoarseLM
from latentaudio.tokens.pipeline import TokenPipeline, plan_windows
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


def test_every_word_gets_its_time_and_the_report_says_it(pipe):
    from latentaudio.tokens.lyrics import plan_words

    lyrics = "[verse]\nhello there\n[chorus]\nsing it loud\n"
    # 12 s at 120 bpm (2 s bars): the two sections share the song, each line from a bar's
    # start over 85% of the bar, its words timed by their length.
    words = plan_words(lyrics, 12.0, None)
    assert [(w["word"], w["section"], w["start"]) for w in words][::2] == [
        ("hello", "verse", 0.0), ("sing", "chorus", 6.0), ("loud", "chorus", 7.0462)]
    assert words[1]["end"] == pytest.approx(1.7) and words[-1]["end"] == pytest.approx(7.7)
    # Long enough: an instrumental intro and outro of two bars around the sung sections.
    long = plan_words(lyrics, 60.0, 100.0)
    assert long[0]["start"] >= 2 * 2.4 and long[-1]["end"] <= 60.0 - 2 * 2.4
    assert plan_words("[intro]\nhi\n[verse]\nbye", 60.0, 120.0)[0]["start"] == 0.0
    out = pipe("a pop song", seconds=12.0, lyrics=lyrics, seed=1, progress=False)
    assert out.audios.shape == (1, 2, 12 * 44_100)
    assert out.lyrics_schedule[0] == [
        {"start": 0.0, "end": 1.7, "section": "verse", "words": ["hello", "there"]},
        {"start": 6.0, "end": 7.7, "section": "chorus", "words": ["sing", "it", "loud"]}]
    assert pipe("a pop song", seconds=4.0, seed=1, progress=False).lyrics_schedule is None


def test_each_window_is_given_what_a_training_crop_is(pipe, monkeypatch):
    """The coarse model of each window reads the words sung inside it, and the phoneme of each
    of its frames, from the same times."""
    from latentaudio.tokens import pipeline as token_pipeline
    from latentaudio.tokens.lyrics import encode_lyrics, plan_words, sung_frames, words_between

    seen = []
    generate = token_pipeline.generate

    def spy(model, inputs, *args, context=None, **kwargs):
        seen.append((inputs.lyrics.clone(), inputs.sung.clone(), context.shape[-1]))
        return generate(model, inputs, *args, context=context, **kwargs)

    monkeypatch.setattr(token_pipeline, "generate", spy)
    lyrics = "[verse]\nhello there\n[chorus]\nsing it loud\n"
    pipe("a pop song", seconds=12.0, lyrics=lyrics, seed=1, progress=False)
    words, rate = plan_words(lyrics, 12.0, None), pipe.tokens.config.frame_rate
    assert len(seen) == 2
    made = 0
    for track, sung, keep in seen:
        start = (made - keep) / rate
        text = words_between(words, start, start + 10.0)
        assert torch.equal(track[0], encode_lyrics(text, "en-us"))
        assert torch.equal(sung[0], sung_frames(words, start, sung.shape[1], rate))
        made += sung.shape[1] - keep
    assert int((seen[0][1] > 0).sum()) > 0  # hello there is sung in the first window
    seen.clear()
    pipe("a pop song", seconds=12.0, seed=1, progress=False)
    assert all(track.numel() == 0 and int(sung.max()) == 0 for track, sung, _ in seen)


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
