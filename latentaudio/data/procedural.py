"""Procedural sound effects: noise, filters, oscillators and envelopes, captioned from parameters.

Each family is a function ``(rng, seconds) -> Effect``: it draws its parameters, synthesises
stereo audio and describes it in words derived from those parameters ("heavy rain on a tin roof",
"a distant rumble of thunder"). The recipes are the classic ones from Andy Farnell's *Designing
Sound* (2010), simplified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import signal

RATE = 44_100


@dataclass(frozen=True)
class Effect:
    audio: np.ndarray  # (2, samples) float32, peak-normalised later by the corpus builder
    caption: str
    tags: list[str]
    category: str  # the family


# ---------------------------------------------------------------------------------- building blocks
def _n(seconds: float) -> int:
    """Samples in ``seconds``; every length in this module goes through here so they agree."""
    return round(seconds * RATE)


def _t(seconds: float) -> np.ndarray:
    return np.arange(_n(seconds)) / RATE


def _noise(rng: np.random.Generator, n: int, channels: int = 2) -> np.ndarray:
    return rng.standard_normal((channels, n))


def _bandpass(x: np.ndarray, low: float, high: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, [low, min(high, RATE / 2 - 100)], "bandpass", fs=RATE,
                        output="sos")
    return signal.sosfilt(sos, x, axis=-1)


def _lowpass(x: np.ndarray, cutoff: float, order: int = 2) -> np.ndarray:
    return signal.sosfilt(signal.butter(order, cutoff, "lowpass", fs=RATE, output="sos"), x,
                          axis=-1)


def _highpass(x: np.ndarray, cutoff: float, order: int = 2) -> np.ndarray:
    return signal.sosfilt(signal.butter(order, cutoff, "highpass", fs=RATE, output="sos"), x,
                          axis=-1)


def _smooth_random(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """A slowly varying curve in [0, 1]: random points ``rate_hz`` apart, cubic-interpolated."""
    points = max(4, int(n / RATE * rate_hz) + 4)
    knots = rng.random(points)
    x = np.linspace(0, points - 3, n)
    i = np.floor(x).astype(int)
    f = x - i
    p0, p1, p2, p3 = knots[i], knots[i + 1], knots[i + 2], knots[np.minimum(i + 3, points - 1)]
    curve = p1 + 0.5 * f * (p2 - p0 + f * (2 * p0 - 5 * p1 + 4 * p2 - p3
                                            + f * (3 * (p1 - p2) + p3 - p0)))
    return np.clip(curve, 0.0, 1.0)


def _pan(mono: np.ndarray, position: float | np.ndarray) -> np.ndarray:
    """Constant-power pan; position -1 (left) .. 1 (right)."""
    angle = (np.asarray(position) + 1) * np.pi / 4
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)])


def _place(out: np.ndarray, event: np.ndarray, start: int) -> None:
    """Mix a stereo event into ``out`` at sample ``start``, cropping at the end."""
    end = min(out.shape[1], start + event.shape[1])
    if end > start:
        out[:, start:end] += event[:, : end - start]


def _decay(seconds: float, time_constant: float) -> np.ndarray:
    return np.exp(-_t(seconds) / time_constant)


def _modes(rng, seconds, base, ratios, decays) -> np.ndarray:
    """Modal synthesis: a sum of exponentially damped sinusoids (struck objects)."""
    t = _t(seconds)
    out = np.zeros_like(t)
    for ratio, decay in zip(ratios, decays, strict=True):
        out += rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * base * ratio * t
                                             + rng.uniform(0, 2 * np.pi)) * np.exp(-t / decay)
    return out


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


# ------------------------------------------------------------------------------------ families
def wind(rng, seconds):
    strength = _pick(rng, ("gentle", "steady", "strong", "howling"))
    level = {"gentle": 0.3, "steady": 0.5, "strong": 0.8, "howling": 1.0}[strength]
    n = _n(seconds)
    gust = _smooth_random(rng, n, 0.7)
    noise = _noise(rng, n)
    low = _lowpass(noise, 400 + 800 * level) * (0.4 + gust)
    whistle = _bandpass(noise, 500 + 700 * level, 900 + 1400 * level, order=4) * gust**2
    audio = low + (2.5 * level) * whistle
    where = _pick(rng, ("through trees", "across an open field", "around a building",
                        "over a mountain ridge"))
    return Effect(audio, f"{strength} wind blowing {where}",
                  ["wind", strength, "ambience", "nature"], "wind")


def rain(rng, seconds):
    amount = _pick(rng, ("light", "steady", "heavy"))
    surface = _pick(rng, ("on a window", "on leaves", "on a tin roof", "on pavement"))
    n = _n(seconds)
    density = {"light": 60, "steady": 250, "heavy": 900}[amount]
    audio = 0.15 * _highpass(_lowpass(_noise(rng, n), 6000), 300)
    centre = {"on a window": 4000, "on leaves": 2500, "on a tin roof": 3000,
              "on pavement": 5000}[surface]
    drops = np.zeros((2, n))
    for _ in range(int(density * seconds)):
        length = int(RATE * rng.uniform(0.003, 0.02 if surface != "on a tin roof" else 0.08))
        drop = rng.standard_normal(length) * np.exp(-4 * np.arange(length) / length)
        _place(drops, _pan(drop * rng.uniform(0.1, 1.0), rng.uniform(-1, 1)),
               int(rng.integers(n)))
    audio += _bandpass(drops, centre * 0.5, centre * 1.5)  # one filter for every drop
    return Effect(audio, f"{amount} rain falling {surface}", ["rain", amount, "weather",
                                                               "ambience"], "rain")


def thunder(rng, seconds):
    distance = _pick(rng, ("distant", "nearby", "overhead"))
    n = _n(seconds)
    onset = int(rng.uniform(0.0, 0.3) * n)
    body = _noise(rng, n - onset) * _decay((n - onset) / RATE, rng.uniform(0.8, 2.0))
    cutoff = {"distant": 250, "nearby": 900, "overhead": 3000}[distance]
    rumble = _lowpass(body, cutoff, order=4) * (0.5 + _smooth_random(rng, n - onset, 6.0))
    if distance != "distant":  # the crack of a close strike
        crack = _highpass(_noise(rng, _n(0.15)), 1500) * _decay(0.15, 0.03)
        rumble[:, : crack.shape[1]] += crack * (2.0 if distance == "overhead" else 0.8)
    audio = np.zeros((2, n))
    audio[:, onset:] = rumble
    phrase = {"distant": "a distant rumble of thunder", "nearby": "a thunderclap nearby",
              "overhead": "a loud crack of thunder overhead"}[distance]
    return Effect(audio, phrase, ["thunder", distance, "storm", "weather"], "thunder")


def engine(rng, seconds):
    vehicle = _pick(rng, ("car", "truck", "motorcycle", "boat", "generator"))
    action = _pick(rng, ("idling", "revving", "driving past"))
    t = _t(seconds)
    base = {"car": 30, "truck": 18, "motorcycle": 45, "boat": 22, "generator": 25}[vehicle]
    if action == "revving":
        rpm = base * (1 + 1.5 * np.sin(np.pi * np.clip(t / seconds * 1.6, 0, 1)) ** 2)
    elif action == "driving past":
        rpm = base * (1.6 - 0.4 * np.tanh(6 * (t / seconds - 0.5)))  # Doppler drop
    else:
        rpm = base * (1 + 0.03 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(rpm) / RATE
    tone = sum(np.sin(k * phase) / k**0.8 for k in range(1, 12))
    rough = 1 + 0.5 * _lowpass(_noise(rng, len(t), 1), 80)[0]
    mono = _lowpass((tone * rough)[None], 2500)[0]
    if action == "driving past":
        position = np.tanh(4 * (t / seconds - 0.5))
        gain = 1 / (1 + 8 * (t / seconds - 0.5) ** 2)
        audio = _pan(mono * gain, position)
    else:
        audio = _pan(mono, 0.0)
    return Effect(audio, f"a {vehicle} engine {action}", ["engine", vehicle, action,
                                                            "vehicle", "mechanical"], "engine")


def siren(rng, seconds):
    style = _pick(rng, ("wailing police siren", "two-tone ambulance siren", "air raid siren",
                        "beeping alarm clock", "smoke alarm"))
    t = _t(seconds)
    if style == "wailing police siren":
        freq = 700 + 500 * (0.5 + 0.5 * np.sin(2 * np.pi * t / rng.uniform(2.5, 4.0)))
    elif style == "two-tone ambulance siren":
        freq = np.where((t * 1.5) % 1 < 0.5, 960, 770)
    elif style == "air raid siren":
        freq = 300 + 200 * np.clip(t / 1.5, 0, 1) + 100 * np.sin(2 * np.pi * t / 6)
    else:
        freq = np.full_like(t, 2900 if style == "smoke alarm" else 2000)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    tone = np.sin(phase) + 0.3 * np.sign(np.sin(phase)) * (style != "air raid siren")
    if style in ("beeping alarm clock", "smoke alarm"):
        period = 0.5 if style == "beeping alarm clock" else 1.0
        tone = tone * ((t % period) < 0.12 * period / 0.5)
    return Effect(_pan(tone * 0.5, rng.uniform(-0.4, 0.4)), f"a {style}",
                  ["alarm", "siren", style.split()[-1]], "siren")


def impact(rng, seconds):
    material = _pick(rng, ("wooden", "metal", "glass", "stone"))
    thing = _pick(rng, ("knock on a door", "object dropped on the floor", "hammer strike",
                        "heavy thud"))
    n_hits = 3 if thing.startswith("knock") else 1
    audio = np.zeros((2, _n(seconds)))
    base = {"wooden": 180, "metal": 420, "glass": 1800, "stone": 120}[material]
    ratios = {"wooden": (1, 2.3, 3.9), "metal": (1, 2.76, 5.4, 8.93),
              "glass": (1, 2.32, 4.25), "stone": (1, 1.7, 2.9)}[material]
    decay = {"wooden": 0.06, "metal": 0.9, "glass": 0.4, "stone": 0.05}[material]
    start = int(rng.uniform(0.05, 0.3) * RATE)
    for hit in range(n_hits):
        ring = _modes(rng, min(seconds, 2.0), base * rng.uniform(0.85, 1.15), ratios,
                      [decay / (1 + i) for i in range(len(ratios))])
        click = _lowpass(_noise(rng, _n(0.02), 1), 4000)[0] * _decay(0.02, 0.004)
        ring[: click.size] += 2 * click
        _place(audio, _pan(ring, rng.uniform(-0.3, 0.3)), start + int(hit * 0.22 * RATE))
    return Effect(audio, f"a {material} {thing}", ["impact", material, "hit", "foley"],
                  "impact")


def whoosh(rng, seconds):
    speed = _pick(rng, ("fast", "slow", "swift"))
    direction = _pick(rng, ("left to right", "right to left"))
    n = _n(seconds)
    t = np.linspace(0, 1, n)
    centre_at = rng.uniform(0.3, 0.7)
    width = {"fast": 0.08, "swift": 0.12, "slow": 0.25}[speed]
    envelope = np.exp(-0.5 * ((t - centre_at) / width) ** 2)
    noise = _noise(rng, n, 1)[0]
    bands = [_bandpass(noise[None], f * 0.7, f * 1.4)[0] for f in (300, 900, 2500)]
    mix = envelope * (bands[0] + bands[1] * envelope + bands[2] * envelope**2)
    position = np.tanh((t - centre_at) / width) * (1 if direction == "left to right" else -1)
    return Effect(_pan(mix, position), f"a {speed} whoosh passing from {direction}",
                  ["whoosh", "swoosh", "transition", speed], "whoosh")


def explosion(rng, seconds):
    size = _pick(rng, ("small", "large", "distant"))
    n = _n(seconds)
    body = _noise(rng, n) * _decay(seconds, {"small": 0.25, "large": 0.9, "distant": 1.2}[size])
    cutoff = {"small": 3000, "large": 1500, "distant": 300}[size]
    boom = _lowpass(body, cutoff, order=4)
    sub = np.sin(2 * np.pi * 45 * _t(seconds) * np.exp(-_t(seconds))) * _decay(seconds, 0.5)
    audio = boom + (1.5 if size == "large" else 0.5) * sub
    if size != "distant":  # debris settling
        for _ in range(int(rng.integers(10, 40))):
            bit = _highpass(_noise(rng, 600, 1), 2000)[0] * _decay(600 / RATE, 0.003)
            _place(audio, _pan(0.3 * bit, rng.uniform(-1, 1)),
                   int(rng.uniform(0.3, 0.9) * n))
    return Effect(audio, f"a {size} explosion" + (" echoing across a valley"
                                                  if size == "distant" else ""),
                  ["explosion", "blast", size], "explosion")


def footsteps(rng, seconds):
    surface = _pick(rng, ("gravel", "wooden floor", "snow", "concrete", "grass"))
    pace = _pick(rng, ("walking", "running", "slowly walking"))
    interval = {"walking": 0.55, "running": 0.3, "slowly walking": 0.85}[pace]
    audio = np.zeros((2, _n(seconds)))
    when = rng.uniform(0.05, 0.3)
    side = 1
    while when < seconds - 0.1:
        length = _n(0.12)
        burst = _noise(rng, length, 1)[0] * _decay(length / RATE, 0.025)
        if surface == "gravel":
            step = _bandpass(burst[None], 1500, 7000)[0] * (rng.random(length) < 0.3)
        elif surface == "wooden floor":
            step = _modes(rng, 0.12, 110, (1, 2.2), (0.03, 0.02)) + 0.3 * _lowpass(
                burst[None], 2000)[0]
        elif surface == "snow":
            step = _bandpass(burst[None], 400, 3000)[0] * (rng.random(length) < 0.5)
        elif surface == "concrete":
            step = _bandpass(burst[None], 500, 6000)[0]
        else:
            step = _bandpass(burst[None], 800, 5000)[0] * 0.6
        _place(audio, _pan(step * rng.uniform(0.7, 1.0), 0.2 * side), int(when * RATE))
        side = -side
        when += interval * rng.uniform(0.92, 1.08)
    return Effect(audio, f"footsteps {pace} on {surface}",
                  ["footsteps", surface, pace, "foley"], "footsteps")


def water(rng, seconds):
    kind = _pick(rng, ("bubbling", "babbling brook", "dripping tap", "pouring"))
    n = _n(seconds)
    audio = np.zeros((2, n))
    if kind in ("babbling brook", "pouring"):
        audio += 0.2 * _bandpass(_noise(rng, n), 300, 4000) * (
            0.6 + 0.4 * _smooth_random(rng, n, 3.0))
    count = {"bubbling": 25, "babbling brook": 60, "dripping tap": 2, "pouring": 40}[kind]
    for _ in range(int(count * seconds)):
        radius_freq = rng.uniform(300, 1500) if kind != "dripping tap" else rng.uniform(900, 1300)
        length = rng.uniform(0.02, 0.08)
        t = _t(length)
        # Minnaert resonance of a bubble, rising as it shrinks (Farnell ch. 36).
        chirp = np.sin(2 * np.pi * radius_freq * (t + 2.0 * t**2 / length)) * np.exp(-t / (
            length / 3))
        _place(audio, _pan(chirp * rng.uniform(0.2, 1.0), rng.uniform(-0.7, 0.7)),
               int(rng.integers(n)))
    phrase = {"bubbling": "water bubbling", "babbling brook": "a babbling brook",
              "dripping tap": "a tap dripping into a sink", "pouring": "water being poured"}
    return Effect(audio, phrase[kind], ["water", kind, "liquid"], "water")


def ui_beep(rng, seconds):
    kind = _pick(rng, ("confirmation chime", "error buzz", "notification ping",
                       "countdown beeps", "menu click"))
    audio = np.zeros((2, _n(seconds)))
    base = rng.uniform(500, 1200)
    if kind == "confirmation chime":
        tones = [(0.0, base, 0.15), (0.12, base * 1.26, 0.15), (0.24, base * 1.5, 0.3)]
    elif kind == "error buzz":
        tones = [(0.0, base / 3, 0.18), (0.22, base / 3.4, 0.3)]
    elif kind == "notification ping":
        tones = [(0.0, base * 2, 0.6)]
    elif kind == "countdown beeps":
        tones = [(i * 1.0, base, 0.12) for i in range(3)] + [(3.0, base * 2, 0.5)]
    else:
        tones = [(i * 0.4, 3000, 0.01) for i in range(int(seconds / 0.4))]
    for start, freq, length in tones:
        t = _t(length)
        wave = np.sin(2 * np.pi * freq * t)
        if kind == "error buzz":
            wave = np.sign(wave) * 0.6
        wave *= np.minimum(1, t / 0.005) * np.exp(-t / (length / 2))
        _place(audio, _pan(wave, 0.0), int((0.05 + start) * RATE))
    return Effect(audio, f"a user interface {kind}", ["ui", "beep", kind, "interface"],
                  "ui")


def scifi_zap(rng, seconds):
    kind = _pick(rng, ("laser blast", "energy zap", "teleporter hum", "robotic power-up"))
    n_shots = int(rng.integers(1, 4)) if kind in ("laser blast", "energy zap") else 1
    audio = np.zeros((2, _n(seconds)))
    for shot in range(n_shots):
        length = 0.35 if kind != "teleporter hum" else min(seconds - 0.1, 2.5)
        length = 1.2 if kind == "robotic power-up" else length
        t = _t(length)
        if kind == "laser blast":
            freq = 3000 * np.exp(-t * 12) + 200
        elif kind == "energy zap":
            freq = 800 + 600 * np.sin(2 * np.pi * 30 * t)
        elif kind == "teleporter hum":
            freq = 200 + 800 * t / length
        else:
            freq = 100 + 1500 * (t / length) ** 2
        phase = 2 * np.pi * np.cumsum(freq) / RATE
        wave = np.sin(phase + 3 * np.sin(phase * 2.01)) * np.exp(-t / (length / 2))
        wave *= np.minimum(1, t / 0.003)
        _place(audio, _pan(wave, rng.uniform(-0.6, 0.6)), int((0.05 + 0.45 * shot) * RATE))
    return Effect(audio, f"a sci-fi {kind}", ["sci-fi", kind, "futuristic", "synthetic"],
                  "sci-fi")


def fire(rng, seconds):
    size = _pick(rng, ("small campfire", "roaring bonfire", "fireplace"))
    n = _n(seconds)
    roar = _lowpass(_noise(rng, n), 300 if size != "roaring bonfire" else 700) * (
        0.5 + _smooth_random(rng, n, 2.0))
    audio = 0.6 * roar
    for _ in range(int({"small campfire": 15, "roaring bonfire": 30, "fireplace": 10}[size]
                       * seconds)):
        length = int(rng.uniform(0.002, 0.01) * RATE)
        crack = _highpass(_noise(rng, length, 1), 1500)[0] * np.hanning(length)
        _place(audio, _pan(crack * rng.uniform(0.3, 1.5), rng.uniform(-0.8, 0.8)),
               int(rng.integers(n)))
    return Effect(audio, f"a crackling {size}", ["fire", "crackling", "ambience"], "fire")


def clock(rng, seconds):
    kind = _pick(rng, ("grandfather clock", "wall clock", "pocket watch"))
    rate = {"grandfather clock": 1.0, "wall clock": 1.0, "pocket watch": 5.0}[kind]
    audio = np.zeros((2, _n(seconds)))
    base = {"grandfather clock": 900, "wall clock": 2500, "pocket watch": 4500}[kind]
    when, tock = 0.05, False
    while when < seconds - 0.05:
        tick = _modes(rng, 0.05, base * (0.8 if tock else 1.0), (1, 2.7, 5.1),
                      (0.01, 0.006, 0.003))
        _place(audio, _pan(tick, 0.0), int(when * RATE))
        when += 1 / rate
        tock = not tock
    return Effect(audio, f"a {kind} ticking", ["clock", "ticking", "mechanical"], "clock")


def birds(rng, seconds):
    kind = _pick(rng, ("a songbird chirping", "birds tweeting at dawn", "a single bird calling"))
    n = _n(seconds)
    audio = 0.02 * _bandpass(_noise(rng, n), 200, 2000)  # faint outdoor air
    count = {"a songbird chirping": 5, "birds tweeting at dawn": 10,
             "a single bird calling": 1.5}[kind]
    for _ in range(int(count * seconds)):
        length = rng.uniform(0.05, 0.2)
        t = _t(length)
        f0, sweep = rng.uniform(2500, 5000), rng.uniform(-2000, 2000)
        phase = 2 * np.pi * np.cumsum(f0 + sweep * t / length
                                      + 300 * np.sin(2 * np.pi * rng.uniform(20, 60) * t)) / RATE
        chirp = np.sin(phase) * np.sin(np.pi * t / length) ** 2
        _place(audio, _pan(chirp * rng.uniform(0.3, 1.0), rng.uniform(-0.9, 0.9)),
               int(rng.integers(n)))
    return Effect(audio, kind, ["birds", "nature", "chirping", "ambience"], "birds")


def heartbeat(rng, seconds):
    bpm = int(rng.integers(50, 130))
    state = "calm" if bpm < 75 else "racing" if bpm > 105 else "steady"
    audio = np.zeros((2, _n(seconds)))
    when = 0.1
    while when < seconds - 0.3:
        for offset, gain in ((0.0, 1.0), (0.18, 0.7)):  # lub-dub
            beat = np.sin(2 * np.pi * 50 * _t(0.12)) * _decay(0.12, 0.03) * gain
            _place(audio, _pan(beat, 0.0), int((when + offset) * RATE))
        when += 60 / bpm
    return Effect(audio, f"a {state} heartbeat at {bpm} beats per minute",
                  ["heartbeat", state, "body", f"{bpm} bpm"], "heartbeat")


FAMILIES: dict[str, Callable[[np.random.Generator, float], Effect]] = {
    "wind": wind, "rain": rain, "thunder": thunder, "engine": engine, "siren": siren,
    "impact": impact, "whoosh": whoosh, "explosion": explosion, "footsteps": footsteps,
    "water": water, "ui": ui_beep, "sci-fi": scifi_zap, "fire": fire, "clock": clock,
    "birds": birds, "heartbeat": heartbeat,
}


def make_effect(rng: np.random.Generator, seconds: float, family: str | None = None) -> Effect:
    """One effect of ``family`` (drawn from ``rng`` when None), float32 stereo, peak 0.9."""
    name = family or list(FAMILIES)[int(rng.integers(len(FAMILIES)))]
    effect = FAMILIES[name](rng, seconds)
    audio = effect.audio.astype(np.float32)
    peak = float(np.abs(audio).max())
    audio = audio * (0.9 / peak) if peak > 0 else audio
    return Effect(audio, effect.caption, effect.tags, effect.category)
