"""Diffusion: the rectified-flow objective, classifier-free guidance, samplers."""
