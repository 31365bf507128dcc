"""Scoring a set of clips against their prompts, and the report a person can look at.

One row per prompt: conformance (loudness, true peak, duration, silence, clipping), CLAP score
(prompt-audio cosine), tempo and key accuracy for music prompts that ask for them, and the
clip's embeddings for the set-level Fréchet Audio Distances (aisfx and CLAP audio embeddings,
against a reference set of real clips). Calibration rows score real test-split audio and noise
the same way, so every figure has a floor and a ceiling next to it.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentaudio.evaluation.conformance import check

SAMPLE_RATE = 44_100


@dataclass
class Prompt:
    id: str
    prompt: str
    kind: str = "sfx"
    category: str = ""
    seconds: float = 10.0
    bpm: float | None = None
    key: str | None = None

    @classmethod
    def from_dict(cls, values: dict) -> Prompt:
        known = {k: values[k] for k in cls.__dataclass_fields__ if k in values}
        if "id" not in known or "prompt" not in known:
            raise ValueError("each prompt needs an 'id' and a 'prompt'")
        return cls(**known)


def read_prompts(path: str | os.PathLike) -> list[Prompt]:
    """A JSONL prompt file (``evaluation/prompts.jsonl``'s format); errors name the line."""
    prompts = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            prompts.append(Prompt.from_dict(json.loads(line)))
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path}:{number}: {error}") from None
    if len({p.id for p in prompts}) != len(prompts):
        raise ValueError(f"{path}: prompt ids must be unique")
    return prompts


@dataclass
class Scorer:
    """Per-clip metrics; ``clap`` is a :class:`~latentaudio.evaluation.clap.LatentAudioClap`
    (or None to skip CLAP figures)."""

    clap: object | None = None
    target_lufs: float = -14.0
    _aisfx: object | None = field(default=None, repr=False)
    _texts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # prompt -> CLAP

    @property
    def aisfx(self):
        if self._aisfx is None:
            if self.clap is not None:
                self._aisfx = self.clap.audio_embedder
            else:
                from latentaudio.conditioning.aisfx import AisfxEmbedder

                self._aisfx = AisfxEmbedder()
        return self._aisfx

    def embed(self, audio: np.ndarray) -> dict[str, np.ndarray]:
        """aisfx (512-d) and, with a CLAP model, CLAP audio (its projection of the same)."""
        import torch

        raw = self.aisfx.embed(audio)
        out = {"aisfx": raw}
        if self.clap is not None:
            out["clap"] = self.clap.project_audio(torch.from_numpy(raw)[None])[0].numpy()
        return out

    def text_embedding(self, text: str) -> np.ndarray:
        """The prompt's CLAP text embedding, computed once per prompt (calibration rows score
        the same prompts again)."""
        if text not in self._texts:
            self._texts[text] = self.clap.embed_text([text])[0].numpy()
        return self._texts[text]

    def score(self, audio: np.ndarray, prompt: Prompt) -> tuple[dict, dict]:
        """``(metrics, embeddings)`` of one clip for one prompt."""
        from latentaudio.evaluation.music import (
            estimate_key,
            estimate_tempo,
            key_score,
            tempo_accuracy,
        )
        from latentaudio.theory import Key

        metrics = check(audio, SAMPLE_RATE, seconds=prompt.seconds,
                        target_lufs=self.target_lufs).as_dict()
        embeddings = self.embed(audio)
        if self.clap is not None:
            metrics["clap_score"] = float(embeddings["clap"] @ self.text_embedding(prompt.prompt))
        if prompt.bpm:
            estimate = estimate_tempo(audio, SAMPLE_RATE)
            metrics["bpm_estimate"] = estimate
            metrics["tempo_acc1"], metrics["tempo_acc2"] = tempo_accuracy(estimate,
                                                                          float(prompt.bpm))
        if prompt.key:
            estimate = estimate_key(audio, SAMPLE_RATE)
            target = Key.parse(prompt.key)
            metrics["key_estimate"] = estimate.name
            metrics["key_exact"] = estimate == target
            metrics["key_mirex"] = key_score(estimate, target)
        return metrics, embeddings


SUMMARY_METRICS = ("clap_score", "tempo_acc1", "tempo_acc2", "key_exact", "key_mirex",
                   "lufs_error", "true_peak_ok", "silent", "silence_ratio", "clipped_ratio")


def summarise(rows: list[dict], embeddings: dict[str, np.ndarray],
              reference: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Means of the per-clip metrics (over the rows that have each) and FAD per embedding
    against ``reference``'s Gaussians ``(mean, cov)``."""
    from latentaudio.evaluation.fad import frechet_distance, gaussian

    summary = {"clips": len(rows)}
    for name in SUMMARY_METRICS:
        values = [float(r[name]) for r in rows if name in r and r[name] == r[name]]
        if values:
            summary[name] = float(np.mean(values))
    if "lufs_error" in summary:
        errors = [abs(r["lufs_error"]) for r in rows if r.get("lufs_error") == r.get("lufs_error")]
        summary["lufs_abs_error"] = float(np.mean(errors)) if errors else float("nan")
    for name, values in embeddings.items():
        if name in reference and len(values) >= 2:
            summary[f"fad_{name}"] = frechet_distance(*gaussian(values), *reference[name])
    return summary


# -------------------------------------------------------------------------------- the report
def spectrogram_png(audio: np.ndarray, path: Path) -> Path:
    """A small log-mel image of the clip (left + right averaged), for the report."""
    import matplotlib

    matplotlib.use("Agg")
    import librosa
    import matplotlib.pyplot as plt

    mono = np.asarray(audio, dtype=np.float32).mean(axis=0)
    mel = librosa.feature.melspectrogram(y=mono, sr=SAMPLE_RATE, n_fft=2048, hop_length=512,
                                         n_mels=96)
    figure, axes = plt.subplots(figsize=(4.0, 1.3), dpi=80)
    axes.imshow(librosa.power_to_db(mel, ref=np.max, top_db=80), origin="lower", aspect="auto",
                cmap="magma")
    axes.set_axis_off()
    figure.subplots_adjust(0, 0, 1, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if value != value else f"{value:.3f}"
    return html.escape(str(value))


ROW_COLUMNS = ("clap_score", "lufs", "true_peak_dbtp", "seconds", "silence_ratio",
               "bpm_estimate", "tempo_acc2", "key_estimate", "key_mirex")


def write_html(path: Path, title: str, summaries: dict[str, dict], rows: list[dict]) -> Path:
    """``summaries``: name -> summary (the model, then calibration rows); ``rows``: dicts with
    ``id``, ``prompt``, ``audio`` and ``image`` (paths relative to the report) and metrics."""
    names = sorted({k for s in summaries.values() for k in s if k != "clips"})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:"
             "collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:"
             "right}td.l,th.l{text-align:left}audio{width:220px}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><h2>Summary</h2><table><tr><th class='l'>set</th>"
             "<th>clips</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"]
    for set_name, summary in summaries.items():
        parts.append(f"<tr><td class='l'>{html.escape(set_name)}</td><td>{summary['clips']}</td>"
                     + "".join(f"<td>{_cell(summary.get(n, ''))}</td>" for n in names) + "</tr>")
    parts.append("</table><h2>Clips</h2><table><tr><th class='l'>prompt</th><th>audio</th>"
                 "<th>spectrogram</th>" + "".join(f"<th>{c}</th>" for c in ROW_COLUMNS)
                 + "</tr>")
    for row in rows:
        parts.append(
            f"<tr><td class='l'><b>{html.escape(row['id'])}</b><br>{html.escape(row['prompt'])}"
            f"</td><td><audio controls preload='none' src='{html.escape(row['audio'])}'>"
            f"</audio></td><td><img src='{html.escape(row['image'])}' alt='spectrogram'></td>"
            + "".join(f"<td>{_cell(row.get(c, ''))}</td>" for c in ROW_COLUMNS) + "</tr>")
    parts.append("</table></body></html>\n")
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text("\n".join(parts))
    os.replace(tmp, path)
    return path
