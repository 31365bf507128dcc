"""The ways log-mel becomes a waveform, by name: a leaf that the codec (which implements them),
the request checks and the command line (which offer them) all import, without loading torch.

- ``hybrid`` (the default): the mel's own magnitudes (the filterbank's pseudo-inverse refined
  toward the non-negative least-squares solution), and a phase for them from 12 fast Griffin-Lim
  iterations from random phases. Vocoder v1's absolute phase is what put a comb of steady tones
  on the multiples of the hop rate (86 Hz) of every clip, and Griffin-Lim started from a
  vocoder's phase keeps some of it (from vocoder v2's after 300 steps: comb 1.4x, key MIREX
  0.26 against 0.55 from random phases; benchmarks/RESULTS.md); a random start shares nothing
  with the frame grid. The vocoder's predicted magnitudes are no substitute either: they are
  inconsistent, and only its overlap-added output matches the mel (log-mel L1 1.1 against 0.12).
  Griffin-Lim-64's quality at a fifth of its time: the vocoder is still trained, as v2, to
  replace this when it beats it.
- ``vocoder``: the vocoder alone, magnitude and phase.
- ``griffin-lim``: the baseline: pseudo-inverse magnitudes, 64 iterations from random phases.
"""

from __future__ import annotations

from latentaudio.errors import LatentAudioError

DECODERS = ("hybrid", "vocoder", "griffin-lim")
DEFAULT_DECODER = "hybrid"
GRIFFIN_LIM_ITERATIONS = 64  # the baseline's, as in every figure measured against it
HYBRID_ITERATIONS = 12  # from a random start: Griffin-Lim-64's quality in the decode budget
HYBRID_REFINE = 10  # multiplicative NNLS updates of the mel's magnitudes (mel.mel_to_magnitude)


def check_decoder_name(decoder: str | None) -> str | None:
    """``decoder`` if it is a known name (or None), else a one-line error."""
    if decoder is not None and decoder not in DECODERS:
        raise LatentAudioError(f"unknown decoder {decoder!r}: use one of {', '.join(DECODERS)}")
    return decoder
