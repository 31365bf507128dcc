"""512-d sound-effect embeddings from the aisfx package (Ma & Lerch, ISMIR 2022: "Representation
Learning for the Automatic Indexing of Sound Effects Libraries"), whose weights ship inside the
PyPI package, so they load offline.

The package's own entry points read files from a folder; this wraps its model and its librosa
front end (log10(1 + 10^4 mel power), 96 HTK mel bands, 2048/1024 STFT, min-max normalised with
the paper's constants) for in-memory 44.1 kHz waveforms. Embeddings of ~2.3 s blocks (50% overlap)
are averaged into one vector per clip.
"""

from __future__ import annotations

import numpy as np
import torch

from latentaudio.errors import MissingDependencyError

SAMPLE_RATE = 44_100
N_FFT, HOP, N_MELS, BLOCK = 2048, 1024, 96, 100
SPEC_MAX = 9.457798957824707  # the paper's normalisation maximum (minimum 0)


class AisfxEmbedder:
    """Waveform ``(channels, samples)`` at 44.1 kHz -> unit-norm embedding ``(512,)``."""

    def __init__(self) -> None:
        try:
            from aisfx.inference import get_path_modelWeights
            from aisfx.models.cnn2d import CrossNet, EmbeddingNet
        except ImportError as error:
            raise MissingDependencyError(
                "aisfx is not installed: pip install --no-deps aisfx (./setup.sh does)") from error
        # The checkpoint is a pickled (state_dict, dataset-sizes) pair shipped in the package
        # itself, so loading it with weights_only=False trusts only installed code.
        weights, datasets = torch.load(get_path_modelWeights(), map_location="cpu",
                                       weights_only=False)
        self.model = CrossNet(EmbeddingNet("max", 3, 1, 64), datasets, "cpu")
        self.model.load_state_dict(weights)
        self.model.eval()

    def spectrogram(self, wav: np.ndarray) -> np.ndarray:
        import librosa

        mono = np.asarray(wav, dtype=np.float32).mean(axis=0)
        peak = float(np.abs(mono).max())
        mono = mono / peak if peak > 0 else mono
        power = librosa.feature.melspectrogram(y=mono, sr=SAMPLE_RATE, n_mels=N_MELS, norm=1.0,
                                               fmin=0.0, fmax=SAMPLE_RATE / 2, htk=True,
                                               power=2.0, hop_length=HOP, win_length=N_FFT,
                                               n_fft=N_FFT)
        return (np.log10(power * 10_000.0 + 1) / SPEC_MAX).T  # (frames, 96)

    @torch.no_grad()
    def embed(self, wav: np.ndarray) -> np.ndarray:
        spec = self.spectrogram(wav)
        if spec.shape[0] < BLOCK:
            spec = np.vstack([spec, np.zeros((BLOCK - spec.shape[0], N_MELS))])
        starts = range(0, spec.shape[0] - BLOCK + 1, BLOCK // 2)
        blocks = np.stack([spec[s: s + BLOCK] for s in starts]).astype(np.float32)
        embedding = self.model.get_embedding(torch.from_numpy(blocks)).mean(dim=0)
        return (embedding / embedding.norm().clamp_min(1e-12)).numpy()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
