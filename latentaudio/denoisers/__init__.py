"""Denoisers: networks that map (noisy latents, time, conditioning) to a prediction."""
