"""Load any audio file, rebuild it from its stereo log-mel with Griffin-Lim, and save it.

    .venv/bin/python examples/reconstruct_griffin_lim.py IN.mp3 OUT.wav [ITERATIONS]
"""

import sys

import torch

from latentaudio.audio import load_audio, save_audio
from latentaudio.evaluation.spectral import spectral_convergence
from latentaudio.mel import MelSpectrogram, griffin_lim

source, target = sys.argv[1], sys.argv[2]
iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 64

wav = torch.from_numpy(load_audio(source))[None]  # (1, 2, samples) at 44.1 kHz
mel = MelSpectrogram()
rebuilt = griffin_lim(mel(wav), mel, n_iter=iterations, length=wav.shape[-1], progress=True)
save_audio(target, rebuilt[0].numpy())
print(f"wrote {target}; spectral convergence {spectral_convergence(wav, rebuilt, mel):.3f}")
