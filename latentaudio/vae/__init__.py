"""The mel-VAE: stereo log-mel <-> latents."""

from latentaudio.vae.model import LatentDistribution, MelVAE

__all__ = ["LatentDistribution", "MelVAE"]
