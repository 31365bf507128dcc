"""Songs with sung vocals, made here: espeak-ng sings lyric lines over a FluidSynth band.

No song data set with vocals can be downloaded, and no singing synthesiser ships in the package
registries, so the corpus makes its own, crude but exactly labelled: a structure
(intro-verse-chorus-...-outro), lyrics of short English sentences from a small grammar (a chorus
repeats its two-line hook), one line per bar on a melody of scale tones, and each line sung by
espeak-ng (Debian's ``espeak-ng``) as one utterance: its words on their notes through SSML
``<prosody pitch>``, the speaking rate set so the line fills its bar, the rest of the pitch and
length put right with pedalboard's ``PitchShift`` and ``time_stretch``. The band comes from
:mod:`latentaudio.data.music` in the same key and tempo, its lead line left out for the voice.

Whole lines, not words one by one: Whisper tiny.en understood none of the words of the first
version (espeak-ng words shifted up to two octaves onto single notes: WER 1.0 in the mix) and
about half of these (``benchmarks/RESULTS.md``), and a model can only learn to sing words that
can be heard.

Every word's time, note, line and section is kept, so a crop of the song knows what is sung in
it (:func:`~latentaudio.tokens.lyrics.words_between`). Word times inside a line are shared out
by the words' lengths in letters: espeak-ng's own word boundaries are not exposed by its command
line, so they are close, not exact.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from latentaudio.audio import SAMPLE_RATE
from latentaudio.data import music
from latentaudio.errors import MissingDependencyError
from latentaudio.theory import Key

# A small grammar of sung lines: every slot is filled from its word list.
LINES = (
    "{who} {go} through the {place}", "{who} {go} in the {weather}", "the {thing} is {like}",
    "{hold} my {part} and {stay}", "{like} {thing} in the {place}", "{who} can {see} the {thing}",
    "under the {like} {thing}", "{who} will {go} {away}", "all the {things} are {like}",
    "{who} {see} the {thing} {away}", "{hold} on to the {thing}",
    "the {weather} {falls} on the {place}", "{who} {go} and {who} {stay}",
    "{like} and {like} in the {place}", "take me to the {place}",
)
SLOTS = {
    "who": "we I you they".split(),
    "go": "run fly walk dance ride drive sing dream fall rise".split(),
    "place": "night town road sky sea street hills city dark light".split(),
    "weather": "rain snow wind sun storm".split(),
    "thing": "light fire moon sun sky road heart sea stars dream song".split(),
    "things": "lights stars roads dreams songs hearts".split(),
    "like": "cold warm wild bright dark still high low blue gold young free".split(),
    "hold": "hold take give".split(),
    "part": "hand heart soul".split(),
    "stay": "stay go run sing wait".split(),
    "see": "see feel hear find".split(),
    "away": "away tonight again alone".split(),
    "falls": "falls comes shines blows".split(),
}
SECTION_BARS = {"intro": 2, "verse": 4, "chorus": 4, "bridge": 2, "outro": 2}
SUNG = ("verse", "chorus", "bridge")
# espeak-ng voice -> the MIDI note its melodies centre on (near its own speaking pitch: every
# semitone pedalboard shifts costs intelligibility)
VOICES = {"en-us": 48, "en-us+m3": 48, "en-us+f3": 60}
LINE_FILL = 0.85  # a line is sung over this share of its bar; the rest is a breath
VOCAL_GAIN_DB = 3.0  # the voice's loudness over the band's, both while sounding


@dataclass(frozen=True)
class SungWord:
    start: float  # seconds
    end: float
    word: str
    pitch: int  # MIDI: the note the word is sung on (espeak-ng's intonation rides on it)
    section: str
    line: int = 0  # words of one line are sung as one utterance


@dataclass
class Song:
    bed: music.Bed  # the band: same key and tempo, no lead line
    words: list[SungWord]
    sections: list[tuple[str, float, float]]  # (name, start, end) seconds
    seconds: float
    voice: str = "en-us"

    @property
    def lines(self) -> list[list[SungWord]]:
        """The sung lines in order, each the words sung as one utterance."""
        grouped: dict[int, list[SungWord]] = {}
        for word in self.words:
            grouped.setdefault(word.line, []).append(word)
        return list(grouped.values())

    @property
    def lyrics(self) -> str:
        """The lyrics with [section] markers, one sung line per text line."""
        out, section = [], None
        for line in self.lines:
            if line[0].section != section:
                section = line[0].section
                out.append(f"[{section}]")
            out.append(" ".join(word.word for word in line))
        return "\n".join(out)


def make_line(rng: np.random.Generator) -> list[str]:
    """One lyric line: a template of :data:`LINES` with its slots filled."""
    template = str(rng.choice(LINES))
    return template.format_map(_Slots(rng)).split()


class _Slots(dict):
    def __init__(self, rng: np.random.Generator):
        super().__init__()
        self.rng = rng

    def __missing__(self, slot: str) -> str:
        return str(self.rng.choice(SLOTS[slot]))


def compose_song(rng: np.random.Generator, seconds: float, genre: music.Genre | None = None,
                 key: Key | None = None, bpm: int | None = None) -> Song:
    """A song of ``seconds``: sections in the usual order, a two-line hook for the chorus, one
    lyric line per bar on a stepwise melody of scale tones; unspecified labels are drawn from
    ``rng``."""
    bed = music.compose_bed(rng, seconds, genre=genre, key=key, bpm=bpm)
    bed = music.Bed([n for n in bed.notes if n.channel != music.LEAD],
                    {ch: p for ch, p in bed.programs.items() if ch != music.LEAD},
                    bed.genre, bed.key, bed.bpm, bed.mood, bed.noun)
    voice = str(rng.choice(list(VOICES)))
    bar = 240.0 / bed.bpm
    hook = [make_line(rng) for _ in range(2)]
    words, sections, at, line_index = [], [], 0.0, 0
    for name, bars in plan_structure(int(np.ceil(seconds / bar - 1e-6))):
        end = min(seconds, at + bars * bar)
        sections.append((name, at, end))
        if name in SUNG:
            for line in range(bars):
                start = at + line * bar
                if start + 0.5 * bar > seconds:
                    break
                lyric = hook[line % 2] if name == "chorus" else make_line(rng)
                notes = _melody(rng, bed.key, len(lyric), VOICES[voice])
                length = min(LINE_FILL * bar, seconds - start)
                weights = np.array([len(word) + 1.0 for word in lyric])
                edges = start + length * np.concatenate([[0], np.cumsum(weights)]) / weights.sum()
                words += [SungWord(float(edges[i]), float(edges[i + 1]), word, notes[i], name,
                                   line_index) for i, word in enumerate(lyric)]
                line_index += 1
        at = end
    return Song(bed, words, sections, seconds, voice)


def _melody(rng: np.random.Generator, key: Key, count: int, centre: int) -> list[int]:
    """``count`` notes of the key moving by step or a third within a sixth of ``centre`` (MIDI),
    ending on a chord tone."""
    tonic = min((key.pitch(0, octave) for octave in range(1, 7)), key=lambda p: abs(p - centre))
    octave = tonic // 12 - 1
    degree, notes = int(rng.choice([0, 2, 4])), []
    for i in range(count):
        if i == count - 1:
            degree = min((-3, 0, 2, 4), key=lambda d: abs(d - degree))
        notes.append(key.pitch(degree, octave=octave))
        degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2]), -4, 4))
    return notes


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


def speak(text: str, voice: str = "en-us", rate: int = 150, pitch: int = 50,
          ssml: bool = False) -> np.ndarray:
    """espeak-ng's rendering of ``text`` (SSML when ``ssml``) at ``rate`` words a minute and
    base ``pitch`` (0-99), mono float32 at 44.1 kHz, silence trimmed."""
    import soundfile as sf
    import soxr

    if shutil.which("espeak-ng") is None:
        raise MissingDependencyError("espeak-ng is missing: apt-get install espeak-ng "
                                     "(./setup.sh does)")
    command = ["espeak-ng", "-v", voice, "-s", str(int(rate)), "-p", str(int(pitch)), "--stdout"]
    wav = subprocess.run([*command, *(["-m"] if ssml else []), text],
                         capture_output=True, check=True).stdout
    audio, source_rate = sf.read(io.BytesIO(wav), dtype="float32")
    audio = soxr.resample(audio, source_rate, SAMPLE_RATE)
    loud = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max(initial=1e-9))
    return audio[loud[0]: loud[-1] + 1] if len(loud) else audio


def median_pitch(audio: np.ndarray) -> float | None:
    import librosa

    f0 = librosa.yin(audio, fmin=60, fmax=600, sr=SAMPLE_RATE, frame_length=2048)
    f0 = f0[(f0 > 60) & (f0 < 600)]
    return float(np.median(f0)) if len(f0) else None


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _line_ssml(words: list[str], notes: list[int]) -> str:
    """The line as SSML, each word's pitch relative to the line's middle note. espeak-ng follows
    relative pitch only about three quarters of the way (measured: +100% gave 1.78x), hence 1.3."""
    centre = float(np.mean(notes))
    parts = [f'<prosody pitch="{100 * (2 ** (1.3 * (note - centre) / 12) - 1):+.0f}%">{word}'
             "</prosody>" for word, note in zip(words, notes, strict=True)]
    return "<speak>" + " ".join(parts) + "</speak>"


def sing_line(words: list[str], notes: list[int], seconds: float,
              voice: str = "en-us") -> np.ndarray:
    """One line sung as one utterance: ``seconds`` long (mono), its middle on the notes' middle.

    A first rendering at espeak-ng's defaults measures the voice; the second sets the speaking
    rate (80-320 words a minute) and base pitch so that little is left for pedalboard to stretch
    and shift, which is what costs intelligibility."""
    import pedalboard

    length = max(1, int(seconds * SAMPLE_RATE))
    text = _line_ssml(words, notes)
    target = _hz(float(np.median(notes)))
    probe = speak(text, voice, ssml=True)
    measured = median_pitch(probe)
    rate = float(np.clip(150 * len(probe) / length, 80, 320))
    # about five steps of espeak-ng's 0-99 pitch per semitone (measured: 50 -> 89 Hz, 80 -> 125)
    semitones = 12 * np.log2(target / measured) if measured else 0.0
    pitch = float(np.clip(50 + 5 * semitones, 0, 99))
    audio = speak(text, voice, rate=rate, pitch=pitch, ssml=True)
    measured = median_pitch(audio)
    shift = float(np.clip(12 * np.log2(target / measured), -12, 12)) if measured else 0.0
    if abs(shift) > 0.3:
        audio = pedalboard.PitchShift(semitones=shift)(audio[None], SAMPLE_RATE)[0]
    stretch = len(audio) / length
    if abs(stretch - 1) > 0.03:
        audio = pedalboard.time_stretch(audio[None], SAMPLE_RATE,
                                        float(np.clip(stretch, 0.5, 2.0)))[0]
    audio = np.pad(audio[:length], (0, max(0, length - len(audio)))).astype(np.float32)
    fade = min(length // 4, int(0.02 * SAMPLE_RATE))
    if fade:
        audio[:fade] *= np.linspace(0, 1, fade, dtype=np.float32)
        audio[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return audio


def sing(song: Song) -> np.ndarray:
    """The vocal track, mono ``(samples,)``: each line over its words' span."""
    track = np.zeros(int(song.seconds * SAMPLE_RATE) + SAMPLE_RATE, dtype=np.float32)
    sung: dict[tuple, np.ndarray] = {}  # a chorus sings the same line on the same notes again
    for line in song.lines:
        start, end = line[0].start, line[-1].end
        key = (tuple(w.word for w in line), tuple(w.pitch for w in line), round(end - start, 4))
        if key not in sung:
            sung[key] = sing_line(list(key[0]), list(key[1]), end - start, song.voice)
        audio = sung[key]
        at = int(start * SAMPLE_RATE)
        track[at: at + len(audio)] += audio[: len(track) - at]
    return track[: int(song.seconds * SAMPLE_RATE)]


def voice_in_room(song: Song) -> np.ndarray:
    """The vocal track with a little room around it, mono ``(samples,)``, at its own level."""
    import pedalboard

    return pedalboard.Pedalboard([pedalboard.Reverb(room_size=0.3, wet_level=0.15)])(
        sing(song)[None], SAMPLE_RATE)[0]


def render_stems(song: Song) -> tuple[np.ndarray, np.ndarray]:
    """The band and the voice as the mix has them, each stereo ``(2, samples)`` float32: the
    voice centred with a little room, at its level in the mix. Their sum is
    :func:`render_song`."""
    band = music.render_bed(song.bed, song.seconds)
    vocals = voice_in_room(song)
    band_rms, voice_rms = _rms(band), _rms(vocals)
    if band_rms > 0 and voice_rms > 0:
        vocals = vocals * (band_rms / voice_rms) * 10 ** (VOCAL_GAIN_DB / 20)
    samples = min(band.shape[1], len(vocals))
    return (band[:, :samples].astype(np.float32),
            np.repeat(vocals[None, :samples], 2, axis=0).astype(np.float32))


def render_song(song: Song) -> np.ndarray:
    """Band and voice mixed, stereo ``(2, samples)``."""
    band, vocals = render_stems(song)
    return band + vocals


def _rms(audio: np.ndarray) -> float:
    """Root mean square over the loud part (frames above -40 dB of the peak): the level while
    sounding, so that a voice with rests and a band that plays through compare fairly."""
    mono = np.abs(audio).mean(axis=0) if audio.ndim == 2 else np.abs(audio)
    frames = mono[: len(mono) // 2048 * 2048].reshape(-1, 2048)
    power = (frames ** 2).mean(axis=1)
    loud = power[power > power.max(initial=0) * 1e-4]
    return float(np.sqrt(loud.mean())) if len(loud) else 0.0
