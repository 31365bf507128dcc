"""The beat grid and key template (frame-level tempo and key), the path that adds them to the
DiT's input, per-group dropout and the tempo's and key's own guidance scales."""

import math

import pytest
import torch

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import KEY_CLASSES, GlobalInputs, key_index
from latentaudio.conditioning.grid import (
    GRID_CHANNELS,
    MUSIC_CHANNELS,
    beat_grid,
    key_template,
    music_frames,
)
from latentaudio.denoisers import LatentDiT
from latentaudio.diffusion.guidance import (
    KEY_GUIDANCE_RATIO,
    TEMPO_GUIDANCE_RATIO,
    combine,
    guided,
    music_scales,
)
from latentaudio.train.tasks import grid_start

RATE = 21.533203125  # the default codec's latent frames per second


def test_beat_pulses_fall_on_the_beats_of_the_asked_tempo():
    grid = beat_grid(torch.tensor([120.0]), torch.tensor([0.0]), 430, RATE)[0]  # 20 s
    beat, downbeat = grid[0], grid[1]
    peaks = [i for i in range(1, 429) if beat[i] > 0.5 and beat[i] >= beat[i - 1]
             and beat[i] >= beat[i + 1]]
    # 120 bpm is a beat every 0.5 s: 40 beats in 20 s, each on the frame nearest its time.
    assert len(peaks) == 39  # frame 0 is the first beat; the 40th would be at 20 s
    assert all(abs(i / RATE - round(i / RATE * 2) / 2) <= 0.5 / RATE for i in peaks)
    # Downbeats every 4 beats, and each is also a beat.
    down = [i for i in range(430) if downbeat[i] > 0.5]
    assert len(down) >= 9 and all(beat[i] > 0.5 for i in down)
    # The phase channels turn once per beat and once per bar.
    phase = torch.atan2(grid[3], grid[2])
    turns = ((phase[1:] - phase[:-1]) < -math.pi).sum()
    assert int(turns) in (39, 40)


def test_a_window_continues_the_grid_of_the_piece():
    """extend's windows start seconds into the piece: their grid is the piece's grid there."""
    whole = beat_grid(torch.tensor([97.0]), torch.tensor([0.0]), 400, RATE)
    start_frame = 150
    window = beat_grid(torch.tensor([97.0]), torch.tensor([start_frame / RATE]), 250, RATE)
    assert torch.allclose(window, whole[..., start_frame:], atol=1e-4)


def test_training_lays_the_grid_on_a_recordings_beats():
    """A crop of a recording whose first beat is 0.2 s in: the grid's beats fall on its beats."""
    bpm, offset = torch.tensor([120.0, 90.0, math.nan]), torch.tensor([0.2, 0.55, 0.3])
    crop = torch.tensor([1.0, 3.3, 2.0])
    start = grid_start(crop, bpm, offset)
    period = 60.0 / bpm[:2]
    assert torch.all((start[:2] - crop[:2] >= 0) & (start[:2] - crop[:2] < period))
    assert start[2] == crop[2]  # no tempo: nothing moves
    # A beat of the clip (offset + 3 beats), seen from the crop, is a whole beat on the grid.
    at = offset[:2] + 3 * period - crop[:2]
    beats = (start[:2] + at) / period
    assert torch.allclose(beats, beats.round(), atol=1e-4)
    grid = beat_grid(bpm[:1], start[:1], 216, RATE)[0, 0]
    assert grid[round(float(at[0]) * RATE)] > 0.5
    assert torch.equal(grid_start(crop, bpm, None), crop)


def test_unknown_tempo_and_key_give_zeros():
    inputs = GlobalInputs(torch.zeros(2), torch.full((2,), 5.0),
                          torch.tensor([float("nan"), 90.0]),
                          torch.tensor([KEY_CLASSES, key_index("A minor")]))
    frames = music_frames(inputs, 40, RATE)
    assert frames.shape == (2, MUSIC_CHANNELS, 40)
    assert not frames[0].any()
    assert frames[1, :GRID_CHANNELS].any() and frames[1, GRID_CHANNELS:].any()


def test_the_key_template_tells_relative_keys_apart():
    c_major, a_minor = key_template(torch.tensor([key_index("C major"),
                                                  key_index("A minor")]), 3)[..., 0]
    assert torch.equal(c_major[:12], a_minor[:12])  # the same seven pitch classes
    assert c_major[:12].sum() == 7
    assert c_major[12:].argmax() == 0 and a_minor[12:].argmax() == 9  # but other tonics


def _dit(music_grid: bool) -> LatentDiT:
    torch.manual_seed(0)
    return LatentDiT(latent_channels=4, layers=1, heads=2, key_value_heads=1, head_dim=8,
                     text_dim=16, cross_attention_dim=16, global_dim=16, time_dim=16,
                     music_grid=music_grid, frame_rate=RATE).eval()


def _condition(batch: int = 2) -> Conditioning:
    torch.manual_seed(1)
    return Conditioning(torch.randn(batch, 5, 16), torch.ones(batch, 5, dtype=torch.bool),
                        torch.randn(batch, 16),
                        GlobalInputs(torch.zeros(batch), torch.full((batch,), 4.0),
                                     torch.tensor([120.0] * batch),
                                     torch.tensor([key_index("D minor")] * batch)))


def test_the_music_path_starts_at_zero_and_then_follows_the_tempo():
    plain, grid = _dit(False), _dit(True)
    grid.load_state_dict(plain.state_dict(), strict=False)  # as `train --init` does
    x, time = torch.randn(2, 4, 30), torch.full((2,), 0.5)
    condition = _condition()
    with torch.no_grad():
        assert torch.allclose(plain(x, time, condition), grid(x, time, condition))
        torch.nn.init.normal_(grid.music.net[-1].weight, std=0.5)
        faster = condition.with_music(tempo=torch.tensor([True, True]))
        faster.globals.bpm = torch.tensor([120.0, 150.0])
        out = grid(x, time, faster)
        unknown = grid(x, time, condition.with_music(tempo=False, key=False))
    assert not torch.allclose(out[0], out[1])
    assert not torch.allclose(out, unknown)


def test_with_music_drops_tempo_and_key_apart():
    condition = _condition(3)
    dropped = condition.with_music(tempo=torch.tensor([True, False, True]),
                                   key=torch.tensor([False, True, True]))
    assert torch.isnan(dropped.globals.bpm).tolist() == [False, True, False]
    assert dropped.globals.key.tolist() == [KEY_CLASSES, condition.globals.key[1],
                                            condition.globals.key[2]]
    assert torch.equal(dropped.text_states, condition.text_states)


def test_own_guidance_scales_for_tempo_and_key():
    model = _dit(True)
    torch.nn.init.normal_(model.music.net[-1].weight, std=0.5)
    x, time, condition = torch.randn(2, 4, 30), torch.full((2,), 0.5), _condition()
    negative = condition.null_like()
    with torch.no_grad():
        same = guided(model, x, time, condition, negative, 4.0, 4.0, 4.0)
        both = model(torch.cat([x, x]), torch.cat([time, time]),
                     Conditioning.cat([condition, negative]))
        plain = combine(*both.chunk(2), 4.0)
        assert torch.allclose(same, plain, atol=1e-5)
        own = guided(model, x, time, condition, negative, 4.0, tempo_scale=7.0, key_scale=2.0)
        e = [model(x, time, c) for c in (negative, condition.with_music(False, False),
                                          condition.with_music(True, False), condition)]
    expected = e[0] + 4.0 * (e[1] - e[0]) + 7.0 * (e[2] - e[1]) + 2.0 * (e[3] - e[2])
    assert torch.allclose(own, expected, atol=1e-4)
    assert not torch.allclose(own, plain, atol=1e-3)
    # Only the key's own: the same formula, from three rows (the words-only one cancels).
    rows = []

    def counted(x, time, condition):
        rows.append(len(x))
        return model(x, time, condition)

    with torch.no_grad():
        key_only = guided(counted, x, time, condition, negative, 4.0, tempo_scale=4.0,
                          key_scale=7.0)
        default = guided(model, x, time, condition, negative, 4.0)
        shared = guided(counted, x, time, condition, negative, 4.0, 6.0, 6.0)
    expected = e[0] + 4.0 * (e[1] - e[0]) + 4.0 * (e[2] - e[1]) + 7.0 * (e[3] - e[2])
    assert rows[0] == 3 * len(x) and torch.allclose(key_only, expected, atol=1e-4)
    # The default: the tempo and the key at 1.75 x the main scale, one row for both.
    assert KEY_GUIDANCE_RATIO * 4.0 == TEMPO_GUIDANCE_RATIO * 4.0 == 7.0
    with torch.no_grad():
        assert torch.allclose(default, guided(model, x, time, condition, negative, 4.0, 7.0, 7.0),
                              atol=1e-5)
    expected = e[0] + 4.0 * (e[1] - e[0]) + 6.0 * (e[2] - e[1]) + 6.0 * (e[3] - e[2])
    assert rows[1] == 3 * len(x) and torch.allclose(shared, expected, atol=1e-4)


def test_music_scales_nobody_asks_for_cost_no_rows():
    model = _dit(True)
    x, time = torch.randn(2, 4, 30), torch.full((2,), 0.5)
    condition = _condition().with_music(tempo=False, key=False)  # no bpm, no key asked
    rows = []

    def counted(x, time, condition):
        rows.append(len(x))
        return model(x, time, condition)

    with torch.no_grad():
        guided(counted, x, time, condition, condition.null_like(), 4.0, tempo_scale=9.0)
        guided(counted, x, time, condition, condition.null_like(), 1.0)
    assert rows == [2 * len(x), len(x)]  # the default key boost and the tempo's: no effect
    assert music_scales(1.0, None, None, _condition()) == (1.0, 1.0)  # no guidance: none


@pytest.mark.parametrize("scales", [(5.0, None), (None, 6.0)])
def test_the_pipeline_takes_the_music_scales(scales):
    from tests.fixtures import tiny_pipeline

    pipe = tiny_pipeline()
    torch.nn.init.normal_(pipe.denoiser.music.net[-1].weight, std=0.5)
    common = {"seconds": 1.0, "num_inference_steps": 2, "seeds": [3], "progress": False,
              "allow_silence": True, "output_type": "latent"}
    base = pipe("a drum loop, 120 bpm, C major", **common).audios[0]
    own = pipe("a drum loop, 120 bpm, C major", tempo_guidance_scale=scales[0],
               key_guidance_scale=scales[1], **common).audios[0]
    assert not torch.allclose(base, own)
