"""Fréchet Audio Distance (Kilgour et al. 2019, "Fréchet Audio Distance: A Reference-Free Metric
for Evaluating Music Enhancement Algorithms").

Fit a Gaussian to each set of clip embeddings and take the Fréchet (2-Wasserstein) distance
between them: ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The embedding model is
the caller's choice (aisfx, or the CLAP audio tower); FADs are comparable only within one model.
With fewer clips than dimensions the covariances are singular, so a small ridge is added, as the
reference implementations do when sqrtm fails; compare sets of similar sizes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from scipy import linalg


def gaussian(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` of ``(N, D)`` embeddings (N >= 2)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) < 2:
        raise ValueError(f"need (N >= 2, D) embeddings, got shape {embeddings.shape}")
    return embeddings.mean(axis=0), np.cov(embeddings, rowvar=False)


def frechet_distance(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray,
                     ridge: float = 1e-6) -> float:
    diff = mu_a - mu_b
    root = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():
        offset = np.eye(len(cov_a)) * ridge
        root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    root = root.real  # rounding leaves a tiny imaginary part
    return float(max(0.0, diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root)))


def fad(embeddings_a: np.ndarray, embeddings_b: np.ndarray) -> float:
    """FAD between two sets of ``(N, D)`` clip embeddings; 0 for identical distributions."""
    return frechet_distance(*gaussian(embeddings_a), *gaussian(embeddings_b))


# ------------------------------------------------------------- shipped reference statistics
# As pytorch-fid ships its Inception statistics: the Gaussians of the test split's embeddings,
# so that `latentaudio evaluate` gives FADs on a machine with no corpus.
REFERENCE_STATISTICS = Path(__file__).resolve().parents[2] / "checkpoints" / "fad-reference"


def save_statistics(folder: Path, embeddings: dict[str, np.ndarray], about: dict) -> Path:
    """Write each embedding set's mean and covariance (float32) and ``about`` (the corpus
    version, the split, the clip count, the embedding models) to ``folder``."""
    arrays = {}
    for name, values in embeddings.items():
        mean, cov = gaussian(values)
        arrays[f"{name}.mean"], arrays[f"{name}.cov"] = mean.astype(np.float32), cov.astype(
            np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "statistics.npz", **arrays)
    (folder / "about.json").write_text(json.dumps(about, indent=2) + "\n")
    return folder


def load_statistics(folder: Path | None = None
                    ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict]:
    """``({name: (mean, cov)}, about)`` from :func:`save_statistics`' folder (default: the
    shipped one)."""
    folder = REFERENCE_STATISTICS if folder is None else folder
    with np.load(folder / "statistics.npz") as data:
        names = sorted({key.rsplit(".", 1)[0] for key in data.files})
        stats = {name: (data[f"{name}.mean"].astype(np.float64),
                        data[f"{name}.cov"].astype(np.float64)) for name in names}
    return stats, json.loads((folder / "about.json").read_text())


def weights_digest(folder: Path) -> str:
    """A short digest of a model folder's safetensors: which CLAP the statistics belong to."""
    digest = hashlib.sha1()
    for path in sorted(Path(folder).glob("*.safetensors")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
