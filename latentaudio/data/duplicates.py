"""The same sound shipped twice by different recorded sources: a loudness-free fingerprint of
each clip and the pass that drops the later copies (corpus building's last step)."""

from __future__ import annotations

import numpy as np

from latentaudio.audio import SAMPLE_RATE
from latentaudio.data.manifest import Clip

DUPLICATE_COSINE = 0.995  # fingerprints this alike (and lengths within 2%) are one sound


def fingerprint(audio: np.ndarray, slices: int = 8, bands: int = 16) -> np.ndarray:
    """A loudness-free picture of a clip: log energy in ``bands`` log-spaced bands (50 Hz to
    16 kHz) in each of ``slices`` equal stretches of time, centred and unit length. The same
    sound shipped twice, or re-encoded, reads the same; another sound does not."""
    mono = np.asarray(audio, dtype=np.float64).reshape(-1, audio.shape[-1]).mean(axis=0)
    edges = np.geomspace(50.0, 16_000.0, bands + 1)
    rows = []
    for part in np.array_split(mono, slices):
        power = np.abs(np.fft.rfft(part)) ** 2 if len(part) else np.zeros(1)
        freqs = np.fft.rfftfreq(max(len(part), 1), 1 / SAMPLE_RATE)
        index = np.clip(np.searchsorted(edges, freqs) - 1, -1, bands)
        energy = np.array([power[index == band].sum() for band in range(bands)])
        rows.append(np.log10(energy + 1e-9))
    vector = np.concatenate(rows)
    vector -= vector.mean()
    return (vector / max(np.linalg.norm(vector), 1e-12)).astype(np.float32)


def deduplicate(clips: list[Clip]) -> tuple[list[Clip], list[tuple[str, str]]]:
    """Drop the recorded clips that repeat an earlier one (by id order) from another
    recording: ``(kept, [(dropped id, the id it repeats)])``. Crops of one recording never
    count as each other's duplicates; clips without a fingerprint are kept as they are."""
    marked = [i for i, clip in enumerate(clips) if "fingerprint" in clip.extra]
    if not marked:
        return clips, []
    prints = np.stack([np.asarray(clips[i].extra["fingerprint"], dtype=np.float32)
                       for i in marked])
    seconds = np.array([clips[i].seconds for i in marked])
    groups = [clips[i].group for i in marked]
    similar = prints @ prints.T >= DUPLICATE_COSINE
    close = np.abs(seconds[:, None] - seconds[None]) <= 0.02 * np.maximum(seconds[:, None],
                                                                          seconds[None])
    dropped, pairs = set(), []
    for a in range(len(marked)):
        if a in dropped:
            continue
        for b in np.nonzero(similar[a] & close[a])[0]:
            if b > a and b not in dropped and groups[b] != groups[a]:
                dropped.add(int(b))
                pairs.append((clips[marked[b]].id, clips[marked[a]].id))
    gone = {marked[b] for b in dropped}
    return [clip for i, clip in enumerate(clips) if i not in gone], pairs
