"""``python -m latentaudio`` runs the command-line interface."""

import sys

from latentaudio.cli import main

sys.exit(main())
