"""Sound classes of recorded clips, for summaries, splits and zero-shot evaluation: the first
keyword a caption holds (:func:`sound_class`), and :func:`caption_for`, a recorded file's caption
(:mod:`latentaudio.data.captions`) with its class."""

from __future__ import annotations

import re
from pathlib import Path

from latentaudio.data.captions import ANIMAL_CALLS, caption_from_description, caption_from_name


def caption_for(path: Path, source: str) -> tuple[str, str]:
    """The caption of a recorded file and its sound class."""
    caption = None
    if source == "tuxpaint":
        caption = caption_from_description(path)
    if source == "ovos-animals" and path.stem in ANIMAL_CALLS:
        caption = ANIMAL_CALLS[path.stem]
    caption = caption or caption_from_name(path, source)
    return caption, sound_class(caption)


# Sound classes for summaries and zero-shot evaluation, by the first keyword found in a caption
# (order matters: "rain falling on a tin roof" is rain, not an impact). The names follow the
# procedural families where they overlap (rain, wind, thunder, engine, ...), so a class gathers
# recorded and synthesised clips alike.
# Animal words match at the start of a word (" owl" is no "growl", " crow" no "scrow").
DOG_WORDS = (" dog", " puppy", " wolf", " howl")
HORSE_WORDS = (" horse", " neigh", " cantering", " gallop", " donkey")
BIRD_WORDS = (" bird", " rooster", " owl", " crow", " duck", " goose", " seagull", " parrot",
              " lark", " cuckoo", " hen ", " chicken", " turkey", " penguin", " vulture",
              " heron", " quetzal", " toucan", " rhea", " flamingo", " peacock")
INSECT_WORDS = (" bee ", " bees", " buzzing", " cricket", " grasshopper", " mosquito",
                " fly buzz", " insect")
CLASS_KEYWORDS = (
    ("rain", (" rain",)), ("thunder", ("thunder", "lightning")),
    ("wind", (" wind ", " wind,", " gust", "breeze", "windstorm", "snowstorm")),
    ("footsteps", ("footstep",)), ("door", (" door", " gate", "chest")),
    ("explosion", ("explosion", "explod", "dynamite", "blast", "bomb", "boom")),
    ("fire", ("fire", "flame", "lava", "furnace", "fuse", "torch", "spark", "smoke", "ember")),
    ("water", ("water", "splash", "droplet", "bubbl", "steam", "river", "sink", "swimming",
               " wave")),
    ("dog", DOG_WORDS), ("horse", HORSE_WORDS), ("birds", BIRD_WORDS), ("insect", INSECT_WORDS),
    ("animal", (" rhea", " iguana", " chimpanzee", " gorilla", " orca", " badger", " bison",
                " goat", " ram", " dromedary", " caribou", " doe", " fox", " zebra", " ferret",
                " giraffe", " hippopotamus", " beaver", " rabbit", " squirrel", " koala",
                " wombat", " snake", " boar", " bat ", "skunk", "cattle")),
    ("gunshot", ("gun", "shot", "musket", "shotgun", "rifle", "fire lance", "mortar",
                 "ricochet", "cannon", "casings", "rocket launcher")),
    ("weapon", ("sword", "axe", "mace", "club", "dagger", "spear", "staff", "flail", "knife",
                "arrow", "sling", "punch", "claw", "bite", "whip", "pincers", "pike",
                "ballista", "catapult", "flesh")),
    ("engine", ("engine", "revving", "accelerat", "jet ", "jetpack", "nitro")),
    ("vehicle", ("plane", "aircraft", "cart", "ship", "ufo", "locomotive", "train", "car ",
                 "tyres", "brakes", "rocket", "driving")),
    ("crowd", ("crowd", "applaud", "cheer", "audience", "restaurant", "chant")),
    ("alarm", ("bell", "chime", "alarm", "siren", "horn", "buzzer", "ringing", "clock")),
    ("machinery", ("machine", "drill", "hammer", "pneumatic", "typewriter", "saw",
                   "force field", "tractor beam", "hum")),
    ("metal", ("metal", "anvil", "clang", "steel")), ("glass", ("glass", "shatter")),
    ("wood", ("wood", "crate", "tree")),
    ("ambience", ("ambience", "forest", "cave", "city", "jungle", "night", "morning",
                  "drone")),
    ("magic", ("spell", "magic", "heal", "portal", "teleport")),
    ("voice", ("grunt", "dying", "laugh", "shriek", "growl", "cackl", "groan", "wail",
               "voice", "kiss", "scream", "snoring", "character", "shout", "calling out",
               "crying out", "speaking")),
    ("ui", ("notification", "click", "blip", "beep", "alert", "tick", "phone", "desktop",
            "interface", "menu", "jingle", "pickup")),
    ("music", ("note", "fanfare", "drum", "cymbal", "guitar", "violin", "piano", "flute",
               "melody")),
    ("digging", ("digging", "placing", "block")),
    ("impact", ("impact", "bump", "crack", "snap", "collaps", "rumble", "thud", "bounc",
                "slap", "hit", "struck", "crash", "falling", "pop", "plop", "smash",
                "chisel")),
    ("whoosh", ("whoosh", "swing", "thrown", "throw", "rope", "parachute", "sliding",
                "skidding", "flapping", "jump", "leap", "boing")),
)


_ANIMAL_WORDS = re.compile(r"\b(?:" + "|".join(sorted(ANIMAL_CALLS, key=len, reverse=True))
                           + r")(?:s|es)?\b")  # whole words: "fly" is not "flying"


def sound_class(caption: str) -> str:
    text = f" {caption.lower()} "
    for name, keywords in CLASS_KEYWORDS:
        if any(keyword in text for keyword in keywords):
            return name
        if name == "animal" and _ANIMAL_WORDS.search(text):  # the other ANIMAL_CALLS names
            return name
    return "misc"
