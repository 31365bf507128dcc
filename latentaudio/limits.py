"""The ranges a request's numbers must fall in: one place for the command line, the API, batch
lines and the library, importing nothing heavy, so every entry refuses the same values in one
line before any model loads. NaN fails every range check (every comparison with it is false).
"""

from __future__ import annotations

from latentaudio.errors import LatentAudioError

SEED_LIMIT = 2**32  # seeds are 0 .. 2^32 - 1 (numpy's range; torch's generators take them all)
GUIDANCE_RANGE = (0.0, 30.0)  # classifier-free guidance scale; 1 = none
LOUDNESS_TARGET_RANGE = (-40.0, -6.0)  # LUFS: from quiet ambience to a loud master


def check_seed(seed: int | None) -> int | None:
    """None: a fresh one is drawn."""
    if seed is not None and not 0 <= seed < SEED_LIMIT:
        raise LatentAudioError(f"seed {seed} is out of range: use 0 to {SEED_LIMIT - 1}")
    return seed


def check_guidance(scale: float) -> float:
    low, high = GUIDANCE_RANGE
    if not low <= scale <= high:
        raise LatentAudioError(f"guidance scale {scale:g} is out of range: use {low:g} to "
                               f"{high:g} (1 = no guidance)")
    return scale


def check_loudness_target(lufs: float | None) -> float | None:
    """None leaves the level alone."""
    low, high = LOUDNESS_TARGET_RANGE
    if lufs is not None and not low <= lufs <= high:
        raise LatentAudioError(f"loudness target {lufs:g} LUFS is out of range: use {low:g} "
                               f"to {high:g}")
    return lufs


GENERATE_SECONDS = (0.5, 47.0)  # the diffusion generator and its edits (Stable Audio's 47 s)
SONG_SECONDS = (1.0, 300.0)  # the token-AR song generator, window by window
DEFAULT_SECONDS = 10.0


def check_seconds(seconds: float | None, limits: tuple[float, float] = GENERATE_SECONDS
                  ) -> float | None:
    """None: the prompt's own duration, else the default."""
    low, high = limits
    if seconds is not None and not low <= seconds <= high:
        raise LatentAudioError(f"duration {seconds:g} s is out of range: use {low:g} to "
                               f"{high:g} seconds")
    return seconds


def check_prompt(text: str | None, *, safety_check: bool = True, allow_empty: bool = False,
                 what: str = "sound") -> str:
    """A prompt must say something (unless ``allow_empty``: a style reference speaks for it),
    and, with ``safety_check``, pass the safety filter (it names no living artist)."""
    text = text or ""
    if not text.strip() and not allow_empty:
        raise LatentAudioError(f"the prompt is empty: describe the {what} you want")
    if safety_check and text.strip():
        from latentaudio.conditioning.safety import SafetyFilter

        SafetyFilter.default().check(text)
    return text
