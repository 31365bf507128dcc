"""The coarse token model: the KV cache changes nothing, top-k 1 is greedy and deterministic,
filtering keeps what it should, guidance at scale 1 is the conditional model, and it learns."""

import pytest
import torch

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import GlobalInputs
from latentaudio.tokens.lm import CoarseLM, LMInputs, coarse_loss, filter_logits, generate

K = 16


def inputs(batch=2, seed=0, lyrics=5):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, 4, dtype=torch.bool)
    mask[0, 3] = False  # a padded caption token
    condition = Conditioning(torch.randn(batch, 4, 16, generator=g), mask,
                             torch.randn(batch, 16, generator=g),
                             GlobalInputs(torch.zeros(batch), torch.full((batch,), 30.0),
                                          torch.full((batch,), 100.0),
                                          torch.zeros(batch, dtype=torch.long)))
    ids = torch.randint(1, 20, (batch, lyrics), generator=g)
    ids[1, -2:] = 0  # padding
    return LMInputs(condition, ids)


def tiny(seed=0):
    torch.manual_seed(seed)
    return CoarseLM(codebook_size=K, layers=2, heads=2, width=32, max_positions=128,
                    text_dim=16, lyric_vocabulary=20).eval()


@pytest.mark.parametrize("length", [9, 90])  # 90: the cache's buffers grow twice on the way
def test_cached_steps_equal_the_full_forward(length):
    model, cond = tiny(), inputs()
    codes = torch.randint(0, K, (2, length), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model(codes, cond)  # (B, length + 1, K)
        cache = model.new_cache()
        first = model(codes[:, :4], cond, cache)
        steps = [model(codes[:, i: i + 1], cache=cache) for i in range(4, length)]
    assert full.shape == (2, length + 1, K) and cache.length == full.shape[1] - 1 + cache.prefix
    torch.testing.assert_close(first, full[:, :5], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(torch.cat(steps, 1), full[:, 5:], atol=1e-5, rtol=1e-4)


def test_top_k_one_is_greedy_and_deterministic():
    model, cond = tiny(), inputs()
    a = generate(model, cond, 6, top_k=1, guidance=1.0,
                 generators=[torch.Generator().manual_seed(s) for s in (1, 2)])
    b = generate(model, cond, 6, top_k=1, guidance=1.0,
                 generators=[torch.Generator().manual_seed(s) for s in (3, 4)])
    assert a.shape == (2, 6) and torch.equal(a, b)
    with torch.no_grad():  # greedy: each token is the argmax given the ones before
        logits = model(a, cond)
    torch.testing.assert_close(logits[:, :-1].argmax(-1), a)


def test_guidance_scale_one_is_the_conditional_model_and_context_continues():
    model, cond = tiny(), inputs()
    gens = [torch.Generator().manual_seed(s) for s in (5, 6)]
    context = torch.randint(0, K, (2, 3), generator=torch.Generator().manual_seed(7))
    guided = generate(model, cond, 4, guidance=3.0, generators=gens, context=context)
    assert guided.shape == (2, 4) and int(guided.max()) < K


def test_filtering():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [[True, False, False, True]]
    # probabilities ~ [0.09, 0.64, 0.24, 0.03]: top-p 0.7 keeps the two largest
    kept = ~torch.isinf(filter_logits(logits, top_p=0.7))
    assert kept.tolist() == [[False, True, True, False]]


def test_it_learns_a_toy_sequence():
    model = tiny().train()
    cond = inputs(batch=4)
    codes = torch.arange(12).remainder(K).repeat(4, 1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = coarse_loss(model, codes, cond)
        first = first if first is not None else float(loss.detach())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert float(loss.detach()) < 0.2 * first


def test_fine_model_fills_every_level_in_windows_and_learns():
    from latentaudio.tokens.fine import FineModel, fine_loss

    torch.manual_seed(0)
    model = FineModel(codebook_size=K, levels=3, layers=1, heads=2, width=32, max_frames=24)
    g = torch.Generator().manual_seed(0)
    coarse = torch.randint(0, K, (2, 60), generator=g)
    # Toy rule: level 2 = (level 1 + 3) mod K, level 3 = (2 * level 1) mod K.
    codes = torch.stack([coarse, (coarse + 3) % K, (2 * coarse) % K], dim=1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(150):
        start = int(torch.randint(0, 60 - 24, (1,), generator=g))
        loss = fine_loss(model, codes[..., start: start + 24], generator=g)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    filled = model.fill(coarse, overlap=8)  # 60 frames through 24-frame windows
    assert filled.shape == (2, 3, 60) and torch.equal(filled[:, 0], coarse)
    assert float((filled == codes).float().mean()) > 0.9
    assert torch.equal(model.fill(coarse, overlap=8), filled)  # temperature 0: deterministic
    # Expected codewords: near the true latents where the model is sure; an untrained model
    # (unsure everywhere) adds about the codebooks' mean, never a far-off guess.
    codebooks = torch.randn(3, K, 4, generator=g)
    truth = sum(codebooks[level][codes[:, level]] for level in range(3)).permute(0, 2, 1)
    soft = model.fill_latents(coarse, codebooks, overlap=8)
    assert soft.shape == (2, 4, 60)
    assert float((soft - truth).pow(2).mean()) < 0.1 * float(truth.var())
    untrained = FineModel(codebook_size=K, levels=3, layers=1, heads=2, width=32,
                          max_frames=24).eval()
    unsure = untrained.fill_latents(coarse, codebooks, overlap=8)
    mean = (codebooks[0][coarse] + codebooks[1].mean(0) + codebooks[2].mean(0)).permute(0, 2, 1)
    assert float((unsure - mean).abs().max()) < 0.2


def grid_model(seed=0):
    """A tiny coarse model with the music grid, its zero-initialised last layer given weights."""
    torch.manual_seed(seed)
    model = CoarseLM(codebook_size=K, layers=2, heads=2, width=32, max_positions=128,
                     text_dim=16, lyric_vocabulary=20, music_grid=True, frame_rate=10.0).eval()
    torch.nn.init.normal_(model.music[-1].weight, std=0.5)
    return model


def test_music_grid_cached_steps_equal_the_full_forward_and_follow_the_tempo():
    model, cond = grid_model(), inputs()
    codes = torch.randint(0, K, (2, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model(codes, cond)
        cache = model.new_cache()
        first = model(codes[:, :4], cond, cache)
        steps = [model(codes[:, i: i + 1], cache=cache) for i in range(4, 9)]
        torch.testing.assert_close(first, full[:, :5], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(torch.cat(steps, 1), full[:, 5:], atol=1e-5, rtol=1e-4)
        faster = inputs()
        faster.condition.globals.bpm[:] = 137.0
        assert not torch.allclose(model(codes, faster), full)  # the grid reads the tempo
        unknown = LMInputs(cond.condition.with_music(tempo=False, key=False), cond.lyrics)
        model.music[-1].weight.zero_()  # as trained from an older model: no change at all
        plain = CoarseLM(codebook_size=K, layers=2, heads=2, width=32, max_positions=128,
                         text_dim=16, lyric_vocabulary=20).eval()
        plain.load_state_dict({k: v for k, v in model.state_dict().items()
                               if not k.startswith("music.")})
        torch.testing.assert_close(model(codes, cond), plain(codes, cond))
        torch.testing.assert_close(model(codes, unknown), plain(codes, unknown))


def test_music_grid_continues_across_windows():
    """Code t of a window that starts 0.5 s into the piece sees the grid of frame t + 5 of a
    window starting at 0 (10 frames a second): the beat never restarts."""
    model, cond = grid_model(), inputs()
    later = inputs()
    later.condition.globals.seconds_start[:] = 0.5
    with torch.no_grad():
        torch.testing.assert_close(model._music(later.condition.globals, 0, 6, torch.float32),
                                   model._music(cond.condition.globals, 5, 6, torch.float32))


def test_the_key_has_its_own_guidance_scale():
    """Three rows (all, none, all but the key) when a key is asked and its scale differs from
    the main one, two otherwise; the tokens follow the nested combination of the three."""
    model, cond = grid_model(), inputs()  # both items ask for C major
    forward, rows = model.forward, []

    def spy(codes, inputs=None, cache=None):
        rows.append(codes.shape[0])
        return forward(codes, inputs, cache)

    model.forward = spy
    first = generate(model, cond, 1, guidance=3.0, key_guidance=6.0, top_k=1)
    assert rows[0] == 6  # 3 rows x 2 items
    keyless = LMInputs(cond.condition.with_music(tempo=True, key=False), cond.lyrics)
    for asked, key_scale in ((cond, None), (cond, 3.0), (keyless, 6.0)):
        rows.clear()
        generate(model, asked, 1, guidance=3.0, key_guidance=key_scale, top_k=1)
        assert rows[0] == 4
    empty = torch.zeros(2, 0, dtype=torch.long)
    with torch.no_grad():
        full, null, no_key = (forward(empty, branch)[:, -1]
                              for branch in (cond, cond.null_like(), keyless))
    expected = null + 3.0 * (no_key - null) + 6.0 * (full - no_key)
    assert torch.equal(first[:, 0], expected.argmax(-1))
