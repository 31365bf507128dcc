"""latentaudio: text-to-audio and audio editing with latent diffusion, stereo 44.1 kHz."""

__version__ = "0.1.0"
