"""``latentaudio serve``: the HTTP API, its job queue and the web UI on one port."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from latentaudio.cli.common import Command, positive_float, positive_int
from latentaudio.errors import LatentAudioError

EXAMPLES = """\
examples:
  latentaudio serve                          http://127.0.0.1:8000 (UI), /docs (API)
  latentaudio serve --host 0.0.0.0 --api-key "$(openssl rand -hex 16)"
  curl -X POST localhost:8000/v1/generate -H 'Content-Type: application/json' \\
       -d '{"prompt": "heavy rain on a tin roof", "seconds": 8}'
  curl localhost:8000/v1/jobs/JOB                 poll until "status": "succeeded"
  curl -o rain.wav localhost:8000/v1/jobs/JOB/audio
  curl -X POST localhost:8000/v1/vary -F audio=@rain.wav -F prompt="heavier rain" -F strength=0.6

Jobs, their inputs and outputs live in --data (SQLite + files): a restart keeps finished and
queued jobs, and a job that was running starts again."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this machine only)")
    parser.add_argument("--port", type=positive_int, default=8000,
                        help="port (default: %(default)s)")
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("LATENTAUDIO_DATA", "latentaudio-server")),
                        help="folder for the job database, inputs and outputs (default: "
                        "$LATENTAUDIO_DATA, else ./%(default)s)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="model folder (default: the shipped checkpoints/latentaudio-small)")
    parser.add_argument("--api-key", default=os.environ.get("LATENTAUDIO_API_KEY"),
                        help="require this key on /v1 calls (X-API-Key or Bearer; default: "
                        "$LATENTAUDIO_API_KEY, else none)")
    parser.add_argument("--workers", type=positive_int, default=1,
                        help="jobs run at once, each worker with its own copy of the model "
                        "(default: %(default)s)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--max-queue", type=positive_int, default=32,
                        help="queued jobs before new ones get 429 (default: %(default)s)")
    parser.add_argument("--max-steps", type=positive_int, default=100,
                        help="most denoising steps a job may ask for (default: %(default)s)")
    parser.add_argument("--max-upload-mb", type=positive_float, default=50.0,
                        help="largest input file (default: %(default)s)")
    parser.add_argument("--max-input-seconds", type=positive_float, default=120.0,
                        help="longest input to edit (default: %(default)s)")
    parser.add_argument("--lora-dir", type=Path, default=None,
                        help="a folder of LoRA adapters ('train lora' outputs) that requests "
                        "and the web UI may choose by name")


def _serve(args: argparse.Namespace) -> None:
    import socket

    import uvicorn

    from latentaudio.app import Settings, create_app, folder_loader
    from latentaudio.codec import DEFAULT_MODEL

    folder = args.checkpoint or DEFAULT_MODEL
    if not (Path(folder) / "model_index.json").is_file():
        raise LatentAudioError(f"no generator at {folder} (model_index.json missing): pass "
                               "--checkpoint DIR")
    if args.lora_dir is not None and not args.lora_dir.is_dir():
        raise LatentAudioError(f"--lora-dir {args.lora_dir} is not a folder")
    try:  # a clear line now, rather than uvicorn's exit after the model has loaded
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as error:
        raise LatentAudioError(f"cannot listen on {args.host}:{args.port}: {error.strerror}; "
                               "pick another --port") from None
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not args.api_key:
        print(f"latentaudio serve: warning: listening on {args.host} without --api-key: anyone "
              "who can reach this port can run jobs")
    settings = Settings(args.data, api_key=args.api_key, workers=args.workers,
                        max_queue=args.max_queue, max_steps=args.max_steps,
                        max_upload_mb=args.max_upload_mb,
                        max_input_seconds=args.max_input_seconds, lora_dir=args.lora_dir)
    app = create_app(settings, folder_loader(folder))
    print(f"latentaudio: UI at http://{args.host}:{args.port}/ , API docs at "
          f"http://{args.host}:{args.port}/docs ; jobs in {args.data}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")


COMMANDS = [Command("serve", "the HTTP API (job queue) and web UI", _arguments, _serve)]
