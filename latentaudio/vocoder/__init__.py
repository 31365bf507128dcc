"""Vocoders: log-mel -> waveform."""

from latentaudio.vocoder.model import Vocoder

__all__ = ["Vocoder"]
