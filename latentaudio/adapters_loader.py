"""diffusers' LoRA loading for the pipeline: ``load_lora_weights``, ``set_adapters``,
``fuse_lora``, ``save_lora_weights`` and the rest, for one loadable component, ``transformer``
(the denoiser; the pipeline's alias).

diffusers has no LoRA mixin for a third-party pipeline; its AuraFlow one is the generic case (a
single transformer, diffusers' key layout ``transformer.<module>.lora_A/B.weight``), so it is
reused under a name that says what it is for here. Kept apart from :mod:`latentaudio.adapters`
so the pipeline does not import peft until an adapter is used.
"""

from __future__ import annotations

from diffusers.loaders.lora_pipeline import AuraFlowLoraLoaderMixin


class TransformerLoraLoader(AuraFlowLoraLoaderMixin):
    _lora_loadable_modules = ["transformer"]  # noqa: RUF012 (diffusers' own attribute)
    transformer_name = "transformer"
