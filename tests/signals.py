"""Short synthetic signals and measurements shared by the tests."""

import numpy as np


def sine(freq: float = 440.0, seconds: float = 0.5, rate: int = 44_100, channels: int = 2,
         amplitude: float = 0.5) -> np.ndarray:
    """A ``(channels, samples)`` float32 sine; channel k is scaled by 1 - 0.1 k."""
    t = np.arange(round(seconds * rate)) / rate
    tone = amplitude * np.sin(2 * np.pi * freq * t)
    return np.stack([(1 - 0.1 * k) * tone for k in range(channels)]).astype(np.float32)


def peak_frequency(signal: np.ndarray, rate: int = 44_100) -> float:
    """Frequency in Hz of the largest FFT bin of a 1-D signal (Hann-windowed)."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    return float(np.argmax(spectrum) * rate / len(signal))
