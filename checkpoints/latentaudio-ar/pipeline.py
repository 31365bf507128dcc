"""diffusers' entry point for this folder:

    DiffusionPipeline.from_pretrained(FOLDER, trust_remote_code=True)

The code is the installed latentaudio package's (pip install latentaudio); this file only
names the class.
"""

from latentaudio.tokens.pipeline import TokenPipeline  # noqa: F401
