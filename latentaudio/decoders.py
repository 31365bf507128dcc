"""The ways log-mel becomes a waveform, by name: a leaf that the codec (which implements them),
the request checks and the command line (which offer them) all import, without loading torch.

- ``hybrid`` (the default): the vocoder's magnitudes, and a phase found for them by fast
  Griffin-Lim from a random start. The vocoder's magnitudes are better than the mel filterbank's
  pseudo-inverse; its frame-by-frame phase is what put a comb of steady tones on the multiples of
  the hop rate (86 Hz), and a random start shares nothing with the frame grid.
- ``vocoder``: the vocoder alone, magnitude and phase.
- ``griffin-lim``: the baseline: pseudo-inverse magnitudes, 64 iterations.
"""

from __future__ import annotations

from latentaudio.errors import LatentAudioError

DECODERS = ("hybrid", "vocoder", "griffin-lim")
DEFAULT_DECODER = "hybrid"
GRIFFIN_LIM_ITERATIONS = 64  # the baseline's, as in every figure measured against it
HYBRID_ITERATIONS = 16  # benchmarks/reconstruction.py: where the hybrid's gains level off


def check_decoder_name(decoder: str | None) -> str | None:
    """``decoder`` if it is a known name (or None), else a one-line error."""
    if decoder is not None and decoder not in DECODERS:
        raise LatentAudioError(f"unknown decoder {decoder!r}: use one of {', '.join(DECODERS)}")
    return decoder
