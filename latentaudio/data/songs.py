"""Songs with sung vocals, made here: espeak-ng sings a melody over a FluidSynth band.

No song data set with vocals can be downloaded, and no singing synthesiser ships in the package
registries, so the corpus makes its own, crude but exactly labelled: a structure
(intro-verse-chorus-...-outro), lyrics drawn from a bank of one-syllable words (a chorus repeats
its hook), one word per quarter note on a melody of chord tones, and each word spoken by
espeak-ng (Debian's ``espeak-ng``), pitch-shifted onto its note and time-stretched to its length
(pedalboard's ``PitchShift`` and ``time_stretch``), then mixed over a bed from
:mod:`latentaudio.data.music` in the same key and tempo (its lead line left out for the voice).

Every word's time, pitch and section is kept, so a crop of the song knows exactly what is sung
in it (:func:`words_between`).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from latentaudio.audio import SAMPLE_RATE
from latentaudio.data import music
from latentaudio.data.theory import Key
from latentaudio.errors import MissingDependencyError

WORDS = (
    "love light night sky rain fire heart home road dream sun moon day time free sea star run "
    "fly stay go know glow slow blue true new sing dance hold fall rise shine cold warm wild "
    "song sound wave town world mind soul hand eyes way gold stone tide wind snow bright dark "
    "far near high low deep long young old sweet red green fast still wake sleep call hear "
    "see feel turn burn learn move breathe hope life heat beat street lane bay hill field "
    "spring fall dawn dusk blaze flame bloom tree leaf bird wing song lines"
).split()
SECTION_BARS = {"intro": 2, "verse": 4, "chorus": 4, "bridge": 2, "outro": 2}
SUNG = ("verse", "chorus", "bridge")
VOCAL_GAIN_DB = -4.0  # the voice sits just under the band's peak level


@dataclass(frozen=True)
class SungWord:
    start: float  # seconds
    end: float
    word: str
    pitch: int  # MIDI
    section: str


@dataclass
class Song:
    bed: music.Bed  # the band: same key and tempo, no lead line
    words: list[SungWord]
    sections: list[tuple[str, float, float]]  # (name, start, end) seconds
    seconds: float

    @property
    def lyrics(self) -> str:
        """The lyrics with [section] markers, one bar per line."""
        out, last_section, line, line_bar = [], None, [], None
        bar = 240.0 / self.bed.bpm
        for word in self.words:
            index = int((word.start + 1e-6) // bar)
            if word.section != last_section or index != line_bar:
                if line:
                    out.append(" ".join(line))
                line = []
                if word.section != last_section:
                    out.append(f"[{word.section}]")
                    last_section = word.section
                line_bar = index
            line.append(word.word)
        if line:
            out.append(" ".join(line))
        return "\n".join(out)


def compose_song(rng: np.random.Generator, seconds: float, genre: music.Genre | None = None,
                 key: Key | None = None, bpm: int | None = None) -> Song:
    """A song of ``seconds``: sections in the usual order, a hook for the chorus, lyrics and a
    vocal melody of chord tones; unspecified labels are drawn from ``rng``."""
    bed = music.compose_bed(rng, seconds, genre=genre, key=key, bpm=bpm)
    bed = music.Bed([n for n in bed.notes if n.channel != music.LEAD],
                    {ch: p for ch, p in bed.programs.items() if ch != music.LEAD},
                    bed.genre, bed.key, bed.bpm, bed.mood, bed.noun)
    bar = 240.0 / bed.bpm
    beat = bar / 4
    hook = [list(rng.choice(WORDS, size=4)) for _ in range(2)]
    words, sections, at = [], [], 0.0
    for name, bars in plan_structure(int(np.ceil(seconds / bar - 1e-6))):
        end = min(seconds, at + bars * bar)
        sections.append((name, at, end))
        if name in SUNG:
            for line in range(bars):
                lyric = (hook[line % 2] if name == "chorus"
                         else list(rng.choice(WORDS, size=4)))
                degree = int(rng.integers(0, 7))
                for step, word in enumerate(lyric):
                    start = at + line * bar + step * beat
                    if start + 0.6 * beat > seconds:
                        break
                    offset = int(rng.choice([0, 2, 4, 2, 0, -3, 7]))
                    pitch = bed.key.pitch(degree + offset, octave=4)
                    words.append(SungWord(start, start + 0.9 * beat, str(word), pitch, name))
        at = end
    return Song(bed, words, sections, seconds)


def plan_structure(bars: int) -> list[tuple[str, int]]:
    """``(section, bars)`` filling ``bars``: intro, verse/chorus pairs with a bridge after every
    second pair, outro; a song of six bars or fewer is one verse."""
    if bars <= 6:
        return [("verse", max(1, bars))]
    plan, used, pairs = [("intro", 2)], 2, 0
    while used + 4 + 2 <= bars:
        name = "verse" if len(plan) % 2 == 1 else "chorus"
        plan.append((name, 4))
        used += 4
        if name == "chorus":
            pairs += 1
            if pairs % 2 == 0 and used + 2 + 4 + 2 <= bars:
                plan.append(("bridge", 2))
                used += 2
    plan.append(("outro", bars - used))
    return plan


def describe_song(song: Song, rng: np.random.Generator) -> tuple[str, list[str]]:
    bed = song.bed
    template = str(rng.choice((
        "a {mood} {genre} song with sung vocals, {bpm} bpm, {key}",
        "{genre} song, {mood}, with a singer and {instruments}, {key}, {bpm} bpm",
        "vocal {genre} track: {mood} {noun} with lyrics, {bpm} bpm, {key}")))
    caption = template.format(mood=bed.mood, genre=bed.genre.name, bpm=bed.bpm, key=bed.key.name,
                              noun=bed.noun, instruments=music._join(bed.instruments))
    return caption, [bed.genre.name, bed.mood, "vocals", "song", bed.key.name, f"{bed.bpm} bpm"]


def speak(word: str, voice: str = "en-us") -> np.ndarray:
    """espeak-ng's rendering of one word, mono float32 at 44.1 kHz, silence trimmed."""
    import soundfile as sf
    import soxr

    if shutil.which("espeak-ng") is None:
        raise MissingDependencyError("espeak-ng is missing: apt-get install espeak-ng "
                                     "(./setup.sh does)")
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "--stdout", word],
                         capture_output=True, check=True).stdout
    audio, rate = sf.read(io.BytesIO(wav), dtype="float32")
    audio = soxr.resample(audio, rate, SAMPLE_RATE)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
    return audio[loud[0]: loud[-1] + 1] if len(loud) else audio


def _median_pitch(audio: np.ndarray) -> float | None:
    import librosa

    f0 = librosa.yin(audio, fmin=60, fmax=500, sr=SAMPLE_RATE, frame_length=2048)
    f0 = f0[(f0 > 60) & (f0 < 500)]
    return float(np.median(f0)) if len(f0) else None


def sing(song: Song, voice: str = "en-us") -> np.ndarray:
    """The vocal track, mono ``(samples,)``: each word on its note and for its length."""
    import pedalboard

    track = np.zeros(int(song.seconds * SAMPLE_RATE) + SAMPLE_RATE, dtype=np.float32)
    spoken_words: dict[str, tuple[np.ndarray, float | None]] = {}
    notes: dict[tuple[str, int, int], np.ndarray] = {}  # a chorus sings the same notes again
    for word in song.words:
        length = int((word.end - word.start) * SAMPLE_RATE)
        key = (word.word, word.pitch, length)
        if key not in notes:
            if word.word not in spoken_words:
                spoken = speak(word.word, voice)
                spoken_words[word.word] = (spoken, _median_pitch(spoken))
            audio, pitch = spoken_words[word.word]
            if pitch:
                target = 440.0 * 2 ** ((word.pitch - 69) / 12)
                shift = float(np.clip(12 * np.log2(target / pitch), -24, 24))
                audio = pedalboard.PitchShift(semitones=shift)(audio[None], SAMPLE_RATE)[0]
            stretch = len(audio) / max(length, 1)
            if 0.25 < stretch < 4:
                audio = pedalboard.time_stretch(audio[None], SAMPLE_RATE, stretch)[0]
            audio = audio[:length].copy()
            fade = min(len(audio) // 4, int(0.02 * SAMPLE_RATE))
            if fade:
                audio[:fade] *= np.linspace(0, 1, fade)
                audio[-fade:] *= np.linspace(1, 0, fade)
            notes[key] = audio
        audio = notes[key]
        start = int(word.start * SAMPLE_RATE)
        track[start: start + len(audio)] += audio[: len(track) - start]
    return track[: int(song.seconds * SAMPLE_RATE)]


def render_song(song: Song, voice: str = "en-us") -> np.ndarray:
    """Band and voice mixed, stereo ``(2, samples)``; the voice centred with a little room."""
    import pedalboard

    band = music.render_bed(song.bed, song.seconds)
    vocals = sing(song, voice)
    vocals = pedalboard.Pedalboard([pedalboard.Reverb(room_size=0.3, wet_level=0.15)])(
        vocals[None], SAMPLE_RATE)[0]
    peak_band, peak_voice = float(np.abs(band).max()), float(np.abs(vocals).max())
    if peak_voice > 0 and peak_band > 0:
        vocals = vocals * (peak_band / peak_voice) * 10 ** (VOCAL_GAIN_DB / 20)
    samples = min(band.shape[1], len(vocals))
    return (band[:, :samples] + vocals[None, :samples]).astype(np.float32)


def words_between(words: list[dict] | list[SungWord], start: float, end: float) -> str:
    """The lyrics sung in ``[start, end)`` seconds, with [section] markers: what a crop of the
    song is conditioned on. ``words`` as in the manifest (dicts) or :class:`SungWord`."""
    lines, section = [], None
    for word in words:
        item = word if isinstance(word, dict) else word.__dict__
        if not start <= item["start"] < end:
            continue
        if item["section"] != section:
            section = item["section"]
            lines.append(f"[{section}]")
            lines.append("")
        lines[-1] = (lines[-1] + " " + item["word"]).strip()
    return "\n".join(lines)
