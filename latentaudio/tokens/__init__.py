"""Codec tokens for the token-AR backend: residual VQ of the VAE latents."""

from latentaudio.tokens.rvq import ResidualVQ

__all__ = ["ResidualVQ"]
