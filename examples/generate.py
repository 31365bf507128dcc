"""Generate a few clips with the shipped model from Python, one seed per clip.

    .venv/bin/python examples/generate.py ["PROMPT"] [SECONDS]
"""

import sys

from latentaudio.audio import save_audio
from latentaudio.generation import load_pipeline

prompt = sys.argv[1] if len(sys.argv) > 1 else "a crackling campfire at night"
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 6.0

pipe, folder = load_pipeline()  # checkpoints/latentaudio-small, fp32 on the CPU
result = pipe([prompt] * 3, seconds=seconds, seeds=[0, 1, 2], num_inference_steps=12,
              guidance_scale=4.0)
for seed, audio, report in zip(result.seeds, result.audios, result.mastering, strict=True):
    path = save_audio(f"example-s{seed}.wav", audio)
    print(f"wrote {path}: {report.loudness_after:.1f} LUFS, true peak {report.true_peak_dbtp:.1f} "
          "dBTP")
