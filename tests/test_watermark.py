"""The watermark: inaudible by the numbers, found after the transformations it must survive,
absent from unmarked audio, and carried by every output by default."""

import numpy as np
import pytest

from latentaudio import watermark as wm
from latentaudio.postprocess import MasteringConfig, master

RATE = 44_100


def melody(seconds: float = 8.0, seed: int = 0) -> np.ndarray:
    """Stereo notes with harmonics over a little noise: music-like, in a tenth of a second."""
    rng = np.random.default_rng(seed)
    out, t0 = [], 0
    while t0 < seconds * RATE:
        length = int(rng.uniform(0.2, 0.6) * RATE)
        t = np.arange(length) / RATE
        pitch = 220 * 2 ** (rng.integers(0, 24) / 12)
        note = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 6))
        out.append(note * np.exp(-3 * t))
        t0 += length
    mono = np.concatenate(out)[: int(seconds * RATE)] * 0.2
    mono += 0.003 * rng.standard_normal(len(mono))
    return np.stack([mono, 0.8 * mono]).astype(np.float32)


@pytest.fixture(scope="module")
def marked():
    clip = melody()
    return clip, wm.embed(clip, payload=0xA5)


def snr_db(clip, marked_clip):
    return 10 * np.log10(np.mean(clip**2) / np.mean((marked_clip - clip) ** 2))


def test_the_mark_is_quiet_and_found_with_its_payload(marked):
    clip, marked_clip = marked
    assert marked_clip.shape == clip.shape and marked_clip.dtype == np.float32
    assert snr_db(clip, marked_clip) >= 30.0
    found = wm.detect(marked_clip)
    assert found.present and found.payload == 0xA5 and found.score > 3 * wm.THRESHOLD


def test_unmarked_audio_and_other_keys_are_not_found(marked):
    clip, marked_clip = marked
    rng = np.random.default_rng(1)
    for audio in (clip, melody(seed=2), rng.standard_normal((2, 5 * RATE)).astype(np.float32)):
        result = wm.detect(audio)
        assert not result.present and result.payload is None and result.score < wm.THRESHOLD
    assert not wm.detect(marked_clip, key="someone else").present


def _mp3_round_trip(audio, tmp_path):
    from latentaudio.audio import load_audio, save_audio

    return load_audio(save_audio(tmp_path / "x.mp3", audio))


@pytest.mark.parametrize("attack", ["gain-6", "gain+6", "crop", "resample", "noise", "mp3"])
def test_the_mark_survives(marked, attack, tmp_path):
    import soxr

    _, audio = marked
    rng = np.random.default_rng(3)
    if attack == "gain-6":
        audio = audio * 10 ** (-6 / 20)
    elif attack == "gain+6":
        audio = np.clip(audio * 10 ** (6 / 20), -1, 1)
    elif attack == "crop":
        start = 12_345
        audio = audio[:, start: start + 5 * RATE]
    elif attack == "resample":
        down = soxr.resample(audio.T, RATE, 22_050)
        audio = soxr.resample(down, 22_050, RATE).T
    elif attack == "noise":
        power = np.mean(audio**2)
        audio = audio + rng.standard_normal(audio.shape) * np.sqrt(power / 100)  # 20 dB SNR
    elif attack == "mp3":
        audio = _mp3_round_trip(audio, tmp_path)
    found = wm.detect(audio)
    assert found.present, (attack, found.score)


def test_detection_at_another_rate_and_in_mono(marked):
    import soxr

    _, audio = marked
    at_48k = soxr.resample(audio.mean(axis=0), RATE, 48_000)
    assert wm.detect(at_48k, 48_000).present


def test_silence_stays_silent_and_bad_requests_fail():
    silence = np.zeros((2, 4 * RATE), np.float32)
    np.testing.assert_array_equal(wm.embed(silence), silence)
    with pytest.raises(ValueError, match="payload"):
        wm.embed(silence, payload=2**wm.PAYLOAD_BITS)
    with pytest.raises(ValueError, match="at least 3 s"):
        wm.detect(silence[:, : 2 * RATE])


def test_mastering_marks_by_default_and_can_be_told_not_to():
    clip = melody(5.0)
    out, report = master(clip, RATE)
    assert report.watermark == wm.DEFAULT_WATERMARK.id
    found = wm.detect(out)
    assert found.present and found.payload == wm.DEFAULT_WATERMARK.payload
    plain, report = master(clip, RATE, config=MasteringConfig(watermark=None))
    assert report.watermark is None and not wm.detect(plain).present


def test_the_carrier_is_the_keys_own():
    sync, data = wm.carrier("a")
    other, _ = wm.carrier("b")
    assert sync.shape == (wm.PERIOD,) and not np.any(sync * data)  # disjoint chunks
    assert abs(np.corrcoef(sync, other)[0, 1]) < 0.05
    assert wm.payload_id("latentaudio") == wm.payload_id("latentaudio") < 2**wm.PAYLOAD_BITS
