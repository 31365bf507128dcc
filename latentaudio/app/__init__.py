"""The app: an HTTP API with a persistent job queue and a web UI (``latentaudio serve``)."""

from latentaudio.app.api import Settings, create_app
from latentaudio.app.worker import folder_loader

__all__ = ["Settings", "create_app", "folder_loader"]
