"""Fréchet Audio Distance (Kilgour et al. 2019, "Fréchet Audio Distance: A Reference-Free Metric
for Evaluating Music Enhancement Algorithms").

Fit a Gaussian to each set of clip embeddings and take the Fréchet (2-Wasserstein) distance
between them: ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The embedding model is
the caller's choice (aisfx, or the CLAP audio tower); FADs are comparable only within one model.
With fewer clips than dimensions the covariances are singular, so a small ridge is added, as the
reference implementations do when sqrtm fails; compare sets of similar sizes.
"""

from __future__ import annotations

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
