"""Which precision the denoiser runs in on this machine: a short probe at first use, cached.

On CPUs with AMX matrix units bf16 matmuls run several times faster than fp32; on CPUs without
them bf16 is emulated and slower. Machines of the same kind differ, so nothing here assumes:
the first load times a matmul-bound block in fp32 and bf16 (about a second) and keeps the answer
in ``~/.cache/latentaudio/precision.json``, keyed by the CPU, the torch version and the thread
count. Inference casts the denoiser to the winner; ``train --precision auto`` (the default) uses
it for mixed precision. ``LATENTAUDIO_PRECISION=fp32|bf16`` overrides the probe.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import torch

ENVIRONMENT = "LATENTAUDIO_PRECISION"
CHOICES = ("fp32", "bf16")
SPEEDUP_NEEDED = 1.2  # bf16 must win clearly: it also rounds more


def cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "latentaudio" / "precision.json"


def machine_key() -> str:
    """The CPU model, torch version and intra-op threads: what the timing depends on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def _time(block: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    with torch.no_grad():
        block(x)  # warm-up: kernel selection, allocations
        began = time.perf_counter()
        for _ in range(repeats):
            block(x)
    return (time.perf_counter() - began) / repeats


def probe(width: int = 256, tokens: int = 432, repeats: int = 10) -> dict:
    """Time a transformer-sized MLP block (the bulk of a DiT step: batch 2 x 10 s of latent
    frames at the default width) in fp32 and in bf16 weights; ``{"fp32": s, "bf16": s}``."""
    generator = torch.Generator().manual_seed(0)
    block = torch.nn.Sequential(torch.nn.Linear(width, 4 * width), torch.nn.GELU(),
                                torch.nn.Linear(4 * width, width))
    x = torch.randn(tokens, width, generator=generator)
    timings = {"fp32": _time(block, x, repeats)}
    try:
        timings["bf16"] = _time(block.to(torch.bfloat16), x.to(torch.bfloat16), repeats)
    except RuntimeError:  # no bf16 kernels on this build
        timings["bf16"] = float("inf")
    return timings


def choose(cache: Path | None = None) -> str:
    """``"bf16"`` or ``"fp32"`` for this machine: the environment's choice, else the cached
    probe, else a fresh probe (then cached)."""
    chosen = os.environ.get(ENVIRONMENT, "").strip().lower()
    if chosen and chosen != "auto":
        if chosen not in CHOICES:
            from latentaudio.errors import LatentAudioError

            raise LatentAudioError(f"{ENVIRONMENT}={chosen!r}: use fp32, bf16 or auto")
        return chosen
    if not torch.cuda.is_available():
        cache = cache or cache_file()
        key = machine_key()
        known = _read(cache)
        if key in known:
            return known[key]["choice"]
        timings = probe()
        choice = "bf16" if timings["fp32"] / timings["bf16"] >= SPEEDUP_NEEDED else "fp32"
        known[key] = {"choice": choice, **{f"{k}_ms": round(v * 1e3, 3)
                                            for k, v in timings.items()}}
        _write(cache, known)
        return choice
    return "bf16" if torch.cuda.is_bf16_supported() else "fp32"


def dtype() -> torch.dtype:
    return torch.bfloat16 if choose() == "bf16" else torch.float32


def _read(cache: Path) -> dict:
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        return {}


def _write(cache: Path, known: dict) -> None:
    """Best effort: a read-only home only means probing again next time."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(known, indent=2) + "\n")
        temporary.replace(cache)
    except OSError:
        pass
