"""Just enough music theory to compose with exact labels: keys, scales, chords, GM names."""

from __future__ import annotations

from dataclasses import dataclass

TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MODES = ("major", "minor")
KEYS = tuple(f"{tonic} {mode}" for mode in MODES for tonic in TONICS)  # all 24

SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}  # natural minor

# Spellings people type, mapped to our pitch-class names.
_ENHARMONIC = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "B#": "C",
               "E#": "F", "Fb": "E"}


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0-11, C = 0
    mode: str  # "major" or "minor"

    @classmethod
    def parse(cls, name: str) -> Key:
        """``"F# minor"``, ``"Bb major"``, ``"c#m"`` and the like."""
        text = name.strip().replace("♯", "#").replace("♭", "b")
        parts = text.split()
        if len(parts) == 1 and len(text) > 1 and text.endswith("m") and text[:-1] != "":
            parts = [text[:-1], "minor"]
        if len(parts) != 2 or parts[1].lower() not in ("major", "minor", "maj", "min"):
            raise ValueError(f"not a key: {name!r} (expected e.g. 'A minor', 'F# major')")
        tonic = parts[0][0].upper() + parts[0][1:]
        tonic = _ENHARMONIC.get(tonic, tonic)
        if tonic not in TONICS:
            raise ValueError(f"not a key: {name!r}")
        mode = "major" if parts[1].lower().startswith("maj") else "minor"
        return cls(TONICS.index(tonic), mode)

    @property
    def name(self) -> str:
        return f"{TONICS[self.tonic]} {self.mode}"

    def pitch(self, degree: int, octave: int = 4) -> int:
        """MIDI note of scale ``degree`` (0-based, may exceed 6 or be negative) from ``octave``."""
        scale = SCALES[self.mode]
        return 12 * (octave + 1) + self.tonic + scale[degree % 7] + 12 * (degree // 7)

    def chord(self, degree: int, octave: int = 3, notes: int = 3) -> list[int]:
        """Diatonic chord on ``degree`` by stacking scale thirds: triad (3) or seventh (4)."""
        return [self.pitch(degree + 2 * i, octave) for i in range(notes)]


def tempo_word(bpm: float) -> str:
    if bpm < 76:
        return "slow"
    if bpm < 110:
        return "mid-tempo"
    if bpm < 140:
        return "upbeat"
    return "fast"


# General MIDI programs used by the composers: name in captions, and GM family.
INSTRUMENTS: dict[int, tuple[str, str]] = {
    0: ("piano", "piano"), 2: ("electric grand piano", "piano"), 4: ("electric piano", "piano"),
    5: ("FM electric piano", "piano"), 6: ("harpsichord", "piano"),
    8: ("celesta", "chromatic percussion"), 11: ("vibraphone", "chromatic percussion"),
    12: ("marimba", "chromatic percussion"), 10: ("music box", "chromatic percussion"),
    14: ("tubular bells", "chromatic percussion"),
    16: ("drawbar organ", "organ"), 19: ("church organ", "organ"), 21: ("accordion", "organ"),
    22: ("harmonica", "organ"),
    24: ("nylon guitar", "guitar"), 25: ("steel-string acoustic guitar", "guitar"),
    26: ("jazz guitar", "guitar"), 27: ("clean electric guitar", "guitar"),
    28: ("muted electric guitar", "guitar"), 29: ("overdriven guitar", "guitar"),
    30: ("distorted guitar", "guitar"),
    32: ("acoustic bass", "bass"), 33: ("fingered electric bass", "bass"),
    34: ("picked bass", "bass"), 35: ("fretless bass", "bass"), 36: ("slap bass", "bass"),
    38: ("synth bass", "bass"), 39: ("analog synth bass", "bass"),
    40: ("violin", "strings"), 41: ("viola", "strings"), 42: ("cello", "strings"),
    43: ("contrabass", "strings"), 45: ("pizzicato strings", "strings"),
    46: ("harp", "strings"), 47: ("timpani", "strings"),
    48: ("string ensemble", "ensemble"), 49: ("slow strings", "ensemble"),
    50: ("synth strings", "ensemble"), 52: ("choir", "ensemble"),
    56: ("trumpet", "brass"), 57: ("trombone", "brass"), 60: ("french horn", "brass"),
    61: ("brass section", "brass"), 62: ("synth brass", "brass"),
    65: ("alto sax", "reed"), 66: ("tenor sax", "reed"), 68: ("oboe", "reed"),
    70: ("bassoon", "reed"), 71: ("clarinet", "reed"),
    73: ("flute", "pipe"), 72: ("piccolo", "pipe"), 75: ("pan flute", "pipe"),
    79: ("ocarina", "pipe"), 78: ("whistle", "pipe"),
    80: ("square lead", "synth lead"), 81: ("sawtooth lead", "synth lead"),
    82: ("calliope lead", "synth lead"), 87: ("bass and lead synth", "synth lead"),
    88: ("new age pad", "synth pad"), 89: ("warm pad", "synth pad"),
    90: ("polysynth pad", "synth pad"), 91: ("choir pad", "synth pad"),
    94: ("halo pad", "synth pad"), 95: ("sweep pad", "synth pad"),
    99: ("atmosphere synth", "synth effects"), 100: ("brightness synth", "synth effects"),
    104: ("sitar", "ethnic"), 105: ("banjo", "ethnic"), 108: ("kalimba", "ethnic"),
    110: ("fiddle", "ethnic"),
    116: ("taiko drum", "percussive"), 117: ("melodic tom", "percussive"),
}


# The genres the model knows, with the moods its captions pair them with: the words a prompt
# is parsed for (conditioning.prompt) and what the corpus composes (data.music).
GENRE_MOODS: dict[str, tuple[str, ...]] = {
    "ambient": ("calm", "dreamy", "ethereal", "meditative"),
    "lo-fi hip hop": ("chill", "mellow", "relaxed", "nostalgic"),
    "rock": ("energetic", "driving", "gritty", "powerful"),
    "orchestral": ("majestic", "elegant", "sweeping", "lyrical"),
    "jazz": ("smooth", "swinging", "laid-back", "sophisticated"),
    "electronic": ("pulsing", "hypnotic", "bright", "euphoric"),
    "folk": ("warm", "rustic", "gentle", "heartfelt"),
    "cinematic": ("epic", "tense", "dramatic", "brooding", "heroic"),
    "funk": ("funky", "groovy", "tight", "bouncy"),
    "reggae": ("sunny", "laid-back", "easygoing", "island-flavoured"),
    "chiptune": ("playful", "retro", "bouncy", "nostalgic"),
    "piano ballad": ("tender", "melancholic", "romantic", "reflective"),
}
