"""latentaudio.audio: every format, rate and channel layout in; atomic, exact writes out."""

import os

import numpy as np
import pytest
import soundfile as sf

from latentaudio import audio
from latentaudio.audio import (
    FORMATS,
    SAMPLE_RATE,
    audio_info,
    load_audio,
    save_audio,
    to_channels,
)
from latentaudio.errors import AudioFileError
from tests.signals import peak_frequency, sine

LOSSLESS = ("wav", "flac")


# libsndfile encodes OGG and MP3 as mono or stereo only, so 5.1 is tested in the lossless formats.
LAYOUTS = [(fmt, channels) for fmt in FORMATS for channels in (1, 2, 6)
           if fmt in LOSSLESS or channels <= 2]


@pytest.mark.parametrize(("fmt", "channels"), LAYOUTS)
@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 48_000])
def test_load_converts_any_file_to_44k_stereo(tmp_path, fmt, rate, channels):
    path = tmp_path / f"in.{fmt}"
    sf.write(path, sine(440.0, 0.5, rate, channels).T, rate)

    loaded = load_audio(path)

    assert loaded.dtype == np.float32
    assert loaded.shape == (2, SAMPLE_RATE // 2)  # 0.5 s at 44.1 kHz, whatever the file's rate
    assert peak_frequency(loaded[0]) == pytest.approx(440.0, abs=3.0)
    assert np.abs(loaded).max() <= 1.0


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_save_then_load_round_trip(tmp_path, fmt):
    original = sine(1000.0, 0.25)
    path = save_audio(tmp_path / f"out.{fmt}", original)

    loaded = load_audio(path)

    assert loaded.shape == original.shape
    if fmt in LOSSLESS:  # 16-bit PCM: error within half a quantisation step
        np.testing.assert_allclose(loaded, original, atol=1.0 / 32768)
    else:  # lossy: same tone, same level
        assert np.corrcoef(loaded[0], original[0])[0, 1] > 0.99
    assert [p.name for p in tmp_path.iterdir()] == [f"out.{fmt}"]  # no temporary left behind


def test_save_24_bit_and_float_are_more_exact(tmp_path):
    original = sine(1000.0, 0.1)
    for depth, tolerance in ((24, 2.0**-23), (32, 1e-7)):
        loaded = load_audio(save_audio(tmp_path / f"out{depth}.wav", original, bit_depth=depth))
        np.testing.assert_allclose(loaded, original, atol=tolerance)


def test_save_writes_metadata(tmp_path):
    for fmt in ("wav", "flac"):
        path = save_audio(tmp_path / f"tagged.{fmt}", sine(), metadata={
            "software": "latentaudio test", "comment": "prompt hash abc123"})
        with sf.SoundFile(path) as handle:
            assert handle.software.startswith("latentaudio test")  # libsndfile appends itself
            assert handle.comment == "prompt hash abc123"


def test_save_clips_and_accepts_mono(tmp_path):
    loud = np.full((1, 1000), 1.7, dtype=np.float32)
    loaded = load_audio(save_audio(tmp_path / "loud.flac", loud), channels=1)
    assert loaded.shape == (1, 1000)
    assert loaded.max() <= 1.0


def test_save_creates_missing_folders(tmp_path):
    path = save_audio(tmp_path / "a" / "b" / "clip.wav", sine())
    assert path.is_file()


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = save_audio(tmp_path / "keep.wav", sine(440.0))
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sf.SoundFile, "write", fail)
    with pytest.raises(AudioFileError, match="disk full"):
        save_audio(path, sine(880.0))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_save_rejects_unknown_format_before_writing(tmp_path):
    with pytest.raises(AudioFileError, match="unknown audio format 'xyz'"):
        save_audio(tmp_path / "clip.xyz", sine())
    with pytest.raises(AudioFileError, match="bit depth"):
        save_audio(tmp_path / "clip.flac", sine(), bit_depth=32)
    assert list(tmp_path.iterdir()) == []


def test_save_file_gets_ordinary_permissions(tmp_path):
    path = save_audio(tmp_path / "clip.wav", sine())
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_offset_and_duration_read_a_window(tmp_path):
    rate = 22_050
    ramp = np.linspace(-1, 1, rate * 2, dtype=np.float32)
    path = tmp_path / "ramp.wav"
    sf.write(path, ramp, rate, subtype="FLOAT")
    window = load_audio(path, sample_rate=rate, channels=1, offset_seconds=0.5,
                        duration_seconds=0.25)
    np.testing.assert_allclose(window[0], ramp[rate // 2: rate // 2 + rate // 4])


def test_audio_info_reads_the_header(tmp_path):
    path = tmp_path / "info.flac"
    sf.write(path, sine(440.0, 1.5, 48_000, 1).T, 48_000)
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.frames) == (48_000, 1, 72_000)
    assert info.seconds == pytest.approx(1.5)


# ----------------------------------------------------------------------------- channel layouts
def test_mono_is_duplicated():
    mono = sine(channels=1)
    np.testing.assert_array_equal(to_channels(mono), np.concatenate([mono, mono]))


def test_stereo_to_mono_averages():
    stereo = sine(channels=2)
    np.testing.assert_allclose(to_channels(stereo, 1)[0], stereo.mean(axis=0), atol=1e-7)


def test_5_1_downmix_follows_bs775():
    samples = 8
    layout = np.zeros((6, samples), dtype=np.float32)
    layout[2] = 0.5  # centre only
    layout[3] = 0.9  # LFE is dropped
    stereo = to_channels(layout)
    np.testing.assert_allclose(stereo, np.full((2, samples), 0.5 * 0.5**0.5), atol=1e-6)


def test_other_layouts_keep_front_pair_and_never_clip():
    quad = np.ones((4, 16), dtype=np.float32)
    stereo = to_channels(quad)
    assert stereo.shape == (2, 16)
    assert np.abs(stereo).max() <= 1.0


# ------------------------------------------------------------------------------------ bad input
def test_missing_file(tmp_path):
    with pytest.raises(AudioFileError, match="no such file"):
        load_audio(tmp_path / "nope.wav")


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(AudioFileError, match="is a folder"):
        load_audio(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(AudioFileError, match="empty"):
        load_audio(path)


def test_header_without_samples(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 2), dtype=np.float32), 44_100)
    with pytest.raises(AudioFileError, match="no audio samples"):
        load_audio(path)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_corrupt_file(tmp_path, fmt):
    path = tmp_path / f"corrupt.{fmt}"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AudioFileError, match="corrupt or not audio"):
        load_audio(path)


def test_truncated_wav(tmp_path):
    path = save_audio(tmp_path / "cut.wav", sine(seconds=1.0))
    path.write_bytes(path.read_bytes()[:30])  # half a header
    with pytest.raises(AudioFileError):
        load_audio(path)


def test_unknown_format(tmp_path):
    path = tmp_path / "notes.xyz"
    path.write_text("not audio at all")
    with pytest.raises(AudioFileError, match=r"unknown audio format '\.xyz'"):
        load_audio(path)


def test_non_finite_samples(tmp_path):
    path = tmp_path / "nan.wav"
    data = np.zeros((100, 2), dtype=np.float32)
    data[10] = np.nan
    sf.write(path, data, 44_100, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="NaN"):
        load_audio(path)


def test_resample_is_identity_at_same_rate():
    wav = sine()
    assert audio.resample(wav, 44_100, 44_100) is wav


def test_a_read_only_filesystem_is_a_one_line_error_not_a_crash(tmp_path, monkeypatch):
    import errno

    from latentaudio.audio import save_audio

    real_open = os.open

    def read_only(path, flags, mode=0o777, **kwargs):  # as on a filesystem mounted read-only
        if str(path).endswith(".part"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, mode, **kwargs)

    def no_unlink(self, missing_ok=False):  # the cleanup hits the same filesystem
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(os, "open", read_only)
    monkeypatch.setattr(type(tmp_path), "unlink", no_unlink)
    with pytest.raises(AudioFileError, match=r"cannot write .*Read-only file system"):
        save_audio(tmp_path / "out.wav", np.zeros((2, 100), dtype=np.float32))
