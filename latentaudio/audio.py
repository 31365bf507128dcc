"""Audio files in and out, in the package's one waveform convention.

Every waveform inside latentaudio is float32 in [-1, 1] at 44 100 Hz with 2 channels, shaped
``(channels, samples)`` for one clip and ``(batch, channels, samples)`` for a batch. This module is
the border: :func:`load_audio` converts whatever a file holds (any rate, mono or many channels,
WAV/FLAC/OGG/MP3) into that convention, and :func:`save_audio` writes it back out atomically, so an
interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from latentaudio.errors import AudioFileError

SAMPLE_RATE = 44_100
CHANNELS = 2

# Container format (soundfile's name) and default encoding for each extension we read and write.
FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
_PCM_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}

# Text fields soundfile can store: WAV LIST/INFO chunks, FLAC and OGG Vorbis comments.
METADATA_FIELDS = ("title", "copyright", "software", "artist", "comment", "date", "album",
                   "license", "tracknumber", "genre")

# ITU-R BS.775 downmix of 5.1 (WAV order L, R, C, LFE, Ls, Rs) to stereo; the LFE is dropped.
_MINUS_3DB = 0.5**0.5
_DOWNMIX_5_1 = np.array([[1.0, 0.0, _MINUS_3DB, 0.0, _MINUS_3DB, 0.0],
                         [0.0, 1.0, _MINUS_3DB, 0.0, 0.0, _MINUS_3DB]], dtype=np.float32)


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header without decoding it."""

    sample_rate: int
    channels: int
    frames: int
    format: str

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def _format_for(path: Path, format: str | None) -> str:
    name = (format or path.suffix.lstrip(".") or "wav").lower()
    if name not in FORMATS:
        raise AudioFileError(
            f"unknown audio format '{name}' for {path}: use one of {', '.join(FORMATS)}")
    return name


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise AudioFileError(f"no such file: {path}")
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path} is empty (0 bytes): it holds no audio")


def _decode_error(path: Path, error: Exception) -> AudioFileError:
    suffix = path.suffix.lstrip(".").lower()
    if suffix and suffix not in FORMATS:
        return AudioFileError(
            f"cannot read {path}: unknown audio format '.{suffix}' "
            f"(latentaudio reads {', '.join(FORMATS).upper()})")
    return AudioFileError(f"cannot read {path}: the file is corrupt or not audio ({error})")


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Header facts (rate, channels, length) of an audio file, without decoding the samples."""
    path = Path(path)
    _check_readable(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise _decode_error(path, error) from error
    return AudioInfo(int(info.samplerate), int(info.channels), int(info.frames), info.format)


def to_channels(wav: np.ndarray, channels: int = CHANNELS) -> np.ndarray:
    """Convert ``(in_channels, samples)`` to ``(channels, samples)``; ``channels`` is 1 or 2.

    Mono is duplicated to stereo; stereo is averaged to mono; 5.1 is downmixed per ITU-R BS.775;
    any other layout keeps its first two channels as left/right and mixes the rest into both at
    -3 dB. A downmix that would clip is scaled back under full scale.
    """
    if wav.ndim != 2:
        raise ValueError(f"expected (channels, samples), got shape {tuple(wav.shape)}")
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    in_channels = wav.shape[0]
    if in_channels == 1:
        stereo = np.concatenate([wav, wav])
    elif in_channels == 2:
        stereo = wav
    elif in_channels == 6:
        stereo = _DOWNMIX_5_1 @ wav
    else:
        rest = _MINUS_3DB * wav[2:].mean(axis=0, keepdims=True)
        stereo = wav[:2] + rest
    if in_channels > 2:
        peak = float(np.abs(stereo).max(initial=0.0))
        if peak > 1.0:
            stereo = stereo / peak
    if channels == 1:
        return stereo.mean(axis=0, keepdims=True).astype(np.float32)
    return np.ascontiguousarray(stereo, dtype=np.float32)


def resample(wav: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling of ``(channels, samples)`` with libsoxr (high quality preset)."""
    if from_rate == to_rate:
        return wav
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    out = soxr.resample(wav.T, from_rate, to_rate, quality="HQ")  # soxr wants (samples, channels)
    return np.ascontiguousarray(out.T, dtype=np.float32)


def load_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = SAMPLE_RATE,
    channels: int = CHANNELS,
    offset_seconds: float = 0.0,
    duration_seconds: float | None = None,
) -> np.ndarray:
    """Read an audio file as float32 ``(channels, samples)`` at ``sample_rate``.

    Reads WAV, FLAC, OGG and MP3 at any rate and channel count. ``offset_seconds`` and
    ``duration_seconds`` read a window without decoding the rest (counted at the file's own rate).
    Raises :class:`AudioFileError` with a one-line reason for a missing, empty, corrupt or
    unsupported file, or one that decodes to no samples.
    """
    path = Path(path)
    info = audio_info(path)
    start = max(0, round(offset_seconds * info.sample_rate))
    stop = None if duration_seconds is None else start + round(duration_seconds * info.sample_rate)
    try:
        data, file_rate = sf.read(str(path), start=start, stop=stop, dtype="float32",
                                  always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise _decode_error(path, error) from error
    if data.shape[0] == 0:
        where = f" after {offset_seconds:g} s" if start else ""
        raise AudioFileError(f"{path} contains no audio samples{where}")
    if not np.isfinite(data).all():
        raise AudioFileError(f"{path} contains NaN or infinite samples: re-export it")
    wav = to_channels(data.T, channels)
    return resample(wav, int(file_rate), sample_rate)


def save_audio(
    path: str | os.PathLike,
    wav: np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    format: str | None = None,
    bit_depth: int = 16,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write ``(channels, samples)`` audio atomically and return the path written.

    The format comes from ``format`` or the file extension (wav, flac, ogg, mp3; no extension means
    WAV). ``bit_depth`` (16, 24 or 32 float) applies to WAV and FLAC. ``metadata`` keys must be in
    :data:`METADATA_FIELDS`; they land in WAV INFO chunks or Vorbis comments. The audio goes to a
    temporary file in the same folder that is renamed over ``path`` only once complete.
    """
    path = Path(path)
    name = _format_for(path, format)
    container, subtype = FORMATS[name]
    if name in ("wav", "flac"):
        if bit_depth not in _PCM_SUBTYPES or (name == "flac" and bit_depth == 32):
            raise AudioFileError(f"unsupported bit depth {bit_depth} for {name.upper()}")
        subtype = _PCM_SUBTYPES[bit_depth]
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 2 or wav.shape[0] not in (1, 2) or wav.shape[1] == 0:
        raise ValueError(f"expected (1 or 2 channels, samples > 0), got shape {wav.shape}")
    unknown = set(metadata or {}) - set(METADATA_FIELDS)
    if unknown:
        raise ValueError(f"unknown metadata fields {sorted(unknown)}; use {METADATA_FIELDS}")

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AudioFileError(f"cannot create the folder for {path}: {error}") from error
    # Create the temporary file ourselves (not mkstemp) so it gets the umask's permissions, 0644
    # typically, rather than mkstemp's private 0600.
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        with sf.SoundFile(str(tmp), "w", samplerate=sample_rate, channels=wav.shape[0],
                          format=container, subtype=subtype) as out:
            for key, value in (metadata or {}).items():
                setattr(out, key, str(value))
            out.write(np.clip(wav, -1.0, 1.0).T)
        os.replace(tmp, path)
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        _discard(tmp)
        raise AudioFileError(f"cannot write {path}: {error}") from error
    except BaseException:
        _discard(tmp)
        raise
    return path


def _discard(tmp: Path) -> None:
    """Remove a temporary file if there is one; on a read-only filesystem (EROFS) or a folder
    that went away there is nothing to remove and nothing to do, and the error that brought us
    here is the one to report."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The text fields (:data:`METADATA_FIELDS`) a file carries; empty ones are left out."""
    path = Path(path)
    _check_readable(path)
    try:
        with sf.SoundFile(str(path)) as handle:
            return {name: value for name in METADATA_FIELDS
                    if (value := getattr(handle, name, ""))}
    except (sf.LibsndfileError, RuntimeError) as error:
        raise _decode_error(path, error) from error


def save_sidecar(audio_path: str | os.PathLike, values: dict) -> Path:
    """Write ``values`` as the JSON sidecar of ``audio_path`` (``clip.wav`` -> ``clip.wav.json``),
    atomically like the audio itself."""
    import json

    path = Path(audio_path)
    path = path.with_name(path.name + ".json")
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        tmp.write_text(json.dumps(values, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as error:
        _discard(tmp)
        raise AudioFileError(f"cannot write {path}: {error}") from error
    return path
