"""The coarse model's voice stream: a warm start from a band-only model is that model, the cache
changes nothing, sampling makes every stream of a frame, and it learns a voice that follows the
band; the track codes of a clip with and without a vocal stem."""

import torch

from latentaudio.tokens.lm import CoarseLM, coarse_loss, coarse_losses, generate
from tests.tokens.test_lm import K, inputs


def two_streams(seed=0, levels=2):
    torch.manual_seed(seed)
    return CoarseLM(codebook_size=K, layers=2, heads=2, width=32, max_positions=128,
                    text_dim=16, lyric_vocabulary=20, vocal_levels=levels).eval()


def tracks(length=9, seed=1, streams=3):
    return torch.randint(0, K, (2, streams, length), generator=torch.Generator().manual_seed(seed))


def test_a_warm_start_from_one_stream_is_that_model_for_the_band():
    model, cond = two_streams(), inputs()
    plain = CoarseLM(codebook_size=K, layers=2, heads=2, width=32, max_positions=128,
                     text_dim=16, lyric_vocabulary=20).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items()
                           if not k.startswith("vocal_")})
    codes = tracks()
    with torch.no_grad():
        both = model(codes, cond)
        assert both.shape == (2, 10, 3, K)
        # The voice's embeddings start at zero: the band's logits are the old model's.
        torch.testing.assert_close(both[:, :, 0], plain(codes[:, 0], cond))
        losses = coarse_losses(model, codes, cond)
    assert losses.shape == codes.shape
    torch.testing.assert_close(coarse_loss(model, codes, cond), losses.mean())


def test_cached_steps_equal_the_full_forward_with_voice():
    model, cond = two_streams(), inputs()
    torch.nn.init.normal_(model.vocal_embedding.weight, std=0.5)
    codes = tracks()
    with torch.no_grad():
        full = model(codes, cond)
        cache = model.new_cache()
        first = model(codes[..., :4], cond, cache)
        steps = [model(codes[..., i: i + 1], cache=cache) for i in range(4, 9)]
    torch.testing.assert_close(first, full[:, :5], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.cat(steps, 1), full[:, 5:], atol=1e-5, rtol=1e-4)


def test_sampling_makes_every_stream_and_greedy_is_the_argmax():
    model, cond = two_streams(), inputs()
    torch.nn.init.normal_(model.vocal_embedding.weight, std=0.5)
    context = tracks(length=3, seed=7)
    made = generate(model, cond, 5, top_k=1, guidance=1.0, context=context,
                    generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    assert made.shape == (2, 3, 5)
    with torch.no_grad():
        logits = model(torch.cat([context, made], dim=-1), cond)  # (B, 9, S, K)
    torch.testing.assert_close(logits[:, 3:-1].argmax(-1).transpose(1, 2), made)
    guided = generate(model, cond, 4, guidance=3.0,
                      generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    assert guided.shape == (2, 3, 4) and int(guided.max()) < K
    try:
        model(context[:, 0], cond)
    except ValueError as error:
        assert "(B, 3, T)" in str(error)
    else:
        raise AssertionError("band-only codes must be refused by a two-stream model")


def test_it_learns_a_voice_that_follows_the_band():
    """Toy songs: the band counts up; voice level 1 is the band's code of the frame before plus
    5, level 2 that voice's code again (learnable from the past frames only)."""
    model = two_streams().train()
    cond = inputs(batch=4)
    band = torch.arange(12).remainder(K).repeat(4, 1)
    voice = (band.roll(1, dims=1) + 5) % K
    codes = torch.stack([band, voice, voice.roll(1, dims=1)], dim=1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(80):
        losses = coarse_losses(model, codes, cond)[..., 2:]  # frames with a past to follow
        loss = losses.mean()
        first = first if first is not None else float(loss.detach())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert float(loss.detach()) < 0.2 * first
    assert float(losses[:, 1:].detach().mean()) < 0.3 * first  # the voice levels too


def test_track_codes_of_a_song_and_of_a_clip_without_voice():
    from latentaudio.tokens.rvq import ResidualVQ
    from latentaudio.tokens.tracks import TrackCoder

    class Codec:  # latents: one frame per 64 samples, the mean and spread of each channel
        def encode(self, audio):
            frames = audio.unfold(-1, 64, 64)  # (B, 2, T, 64)
            return torch.cat([frames.mean(-1), frames.std(-1)], dim=1)  # (B, 4, T)

    g = torch.Generator().manual_seed(0)
    band_rvq, vocal_rvq = ResidualVQ(dim=4, levels=2, codebook_size=8), ResidualVQ(
        dim=4, levels=3, codebook_size=8)
    for rvq in (band_rvq, vocal_rvq):
        rvq.update(torch.randn(512, 4, generator=g), generator=g)
    coder = TrackCoder(Codec(), band_rvq, vocal_rvq, vocal_levels=2)
    mix, voice = torch.randn(2, 64 * 10, generator=g), torch.randn(2, 64 * 10, generator=g)
    song = coder(torch.cat([mix - voice, voice]))
    assert song.shape == (3, 10)
    torch.testing.assert_close(song[0], band_rvq.encode(Codec().encode((mix - voice)[None]),
                                                        1)[0, 0])
    torch.testing.assert_close(song[1:], vocal_rvq.encode(Codec().encode(voice[None]), 2)[0])
    plain = coder(mix)  # no stem: all band, the voice silent
    assert plain.shape == (3, 10)
    assert torch.equal(plain[1:], coder.silence()[:, None].expand(-1, 10))


def test_the_sung_track_is_heard_frame_by_frame_and_cached_steps_agree():
    from latentaudio.tokens.lm import LMInputs

    torch.manual_seed(0)
    model = CoarseLM(codebook_size=K, layers=2, heads=2, width=32, max_positions=128,
                     text_dim=16, lyric_vocabulary=20, vocal_levels=2, sung_frames=True).eval()
    cond, codes = inputs(), tracks()
    sung = torch.randint(0, 20, (2, 7), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        silent = model(codes, cond)
        given = model(codes, LMInputs(cond.condition, cond.lyrics, sung))
        torch.testing.assert_close(given, silent)  # zero-initialised: nothing until trained
        torch.nn.init.normal_(model.sung_embedding.weight, std=0.5)
        full = model(codes, LMInputs(cond.condition, cond.lyrics, sung))
        # The position predicting frame f hears frame f's phoneme: frames past the track's 7
        # (positions 7.. of the begin token and 9 codes) hear nothing.
        changed = (full - model(codes, cond)).abs().amax(dim=(0, 2, 3)) > 1e-6
        assert changed[:7].all()
        cache = model.new_cache()
        first = model(codes[..., :4], LMInputs(cond.condition, cond.lyrics, sung), cache)
        steps = [model(codes[..., i: i + 1], cache=cache) for i in range(4, 9)]
    torch.testing.assert_close(first, full[:, :5], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.cat(steps, 1), full[:, 5:], atol=1e-5, rtol=1e-4)
    both = LMInputs(cond.condition, cond.lyrics, sung)
    assert int(both.null_like().sung.abs().sum()) == 0
    mixed = both.where(torch.tensor([True, False]), both.null_like())
    assert torch.equal(mixed.sung[0], sung[0]) and int(mixed.sung[1].sum()) == 0


def test_a_word_shares_its_span_among_its_phonemes():
    from latentaudio.tokens.lyrics import sung_frames, word_ids

    words = [{"start": 1.0, "end": 2.0, "word": "moon", "section": "verse"}]
    frames = sung_frames(words, 0.5, 20, 10.0)  # frames centred at 0.55, 0.65, ... 2.45 s
    ids = word_ids(["moon"])[0]
    assert frames[:5].eq(0).all() and frames[15:].eq(0).all()
    sung = frames[5:15].tolist()
    assert [i for n, i in enumerate(sung) if n == 0 or i != sung[n - 1]] == ids


def test_a_warm_start_with_other_voice_levels_keeps_the_first_ones(tmp_path):
    from latentaudio.train.runs import load_init

    two, cond = two_streams(levels=2), inputs()
    torch.nn.init.normal_(two.vocal_embedding.weight, std=0.5)
    with torch.no_grad():
        two.vocal_embedding.weight[K:] = 0  # the second level adds nothing to the input
    two.save_pretrained(tmp_path / "two")
    one = two_streams(seed=3, levels=1)
    load_init(one, tmp_path / "two")
    codes = tracks()
    with torch.no_grad():
        # Fewer levels: the band and the first voice level are predicted as before.
        torch.testing.assert_close(one(codes[:, :2], cond), two(codes, cond)[:, :, :2])
        one.save_pretrained(tmp_path / "one")
        three = two_streams(seed=4, levels=3)
        load_init(three, tmp_path / "one")
        # More levels: the new ones add nothing until trained.
        torch.testing.assert_close(three(tracks(streams=4), cond)[:, :, :2],
                                   one(tracks(streams=4)[:, :2], cond))
