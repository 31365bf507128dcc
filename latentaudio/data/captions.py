"""Captions and sound classes for recorded files, from their names and folders (or, for Tux
Paint, the human-written description beside each sound), shared by every recorded source of
:mod:`latentaudio.data.recorded`."""

from __future__ import annotations

import re
from pathlib import Path

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
            "rock": "rock",
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
# Corpus v2 sources (supertuxkart, warmux, extremetuxracer, frozen-bubble, chromium-bsu).
PHRASES |= {
    "skid": "tyres skidding", "steam locomotive": "a steam locomotive chugging",
    "wilhelm scream": "a man screaming", "airplane jet engine": "a jet engine roaring",
    "anvil": "an anvil clanging", "appear": "a magical appearance shimmer",
    "ball bounce": "a ball bouncing", "boing": "a cartoon spring boing",
    "bowling roll": "a bowling ball rolling", "bowling shoot": "a bowling ball thrown",
    "break": "brakes squealing", "bubblegum explode": "a bubblegum bubble popping",
    "bzzt": "an electric buzz", "car accel": "a car engine accelerating",
    "car revup": "a car engine revving", "clock": "a clock ticking", "crash": "a car crash",
    "dark": "a dark ominous drone", "engine large": "a large engine running",
    "engine small": "a small engine running", "exotic birds": "exotic birds calling in a jungle",
    "fireworks show": "fireworks exploding", "forcefield": "a force field humming",
    "gnu flute": "a flute melody", "goal scored": "a crowd cheering a goal",
    "goo": "goo squelching", "inflate": "a balloon inflating", "jump": "a cartoon jump",
    "lenautile restaurant": "a busy restaurant ambience", "locked": "a locked door rattling",
    "machine sound": "machinery running", "metal clang": "a metal clang",
    "nitro": "a nitro boost whoosh", "plopp": "a cartoon plop", "plunger": "a plunger pop",
    "rain": "rain falling", "river loop": "a river flowing",
    "sara airport pa": "an airport announcement chime", "shoot": "a cartoon cannon shot",
    "spaceship": "a spaceship humming", "spaceship engine": "a spaceship engine roaring",
    "spaceship engine short": "a spaceship engine roaring",
    "static radio": "radio static crackling", "strike": "bowling pins struck",
    "swatter": "a fly swatter slap", "thunder": "thunder rumbling",
    "tractor beam": "a sci-fi tractor beam humming", "ugh": "a man grunting",
    "waterfall loop": "a waterfall rushing", "wee": "a cartoon voice shouting wee",
    "wooden bridge": "driving over a wooden bridge", "swap": "a magical swap whoosh",
    "grab collectable": "a pickup chime", "horn": "a car horn honking",
    "box falling": "a wooden crate falling", "box hitting ground": "a wooden crate hitting the "
    "ground", "box picking up": "a crate being picked up", "sink": "something sinking in water",
    "step": "a footstep", "victory": "a victory fanfare", "aircraft bomb falling":
    "a bomb whistling as it falls", "aircraft flying": "a propeller aircraft flying over",
    "anvil collision": "an anvil crashing down", "anvil fall": "an anvil whistling as it falls",
    "auto rocket flying": "a rocket flying", "rocket flying": "a rocket flying",
    "riot flying": "a rocket flying", "baseball": "a baseball bat hit",
    "cluzooka hit": "a rocket exploding", "cluzooka shot": "a rocket launcher firing",
    "construct": "building hammering and sawing", "dynamite exp": "a dynamite explosion",
    "dynamite fuze": "a dynamite fuse burning", "embers": "embers crackling",
    "flame": "a flame roaring", "footbomb bounce": "a ball bouncing",
    "gnu bounce": "a bouncing thud", "grapple attaching": "a grappling hook attaching",
    "grapple cable": "a cable reeling", "grapple detaching": "a grappling hook detaching",
    "grenade bounce": "a grenade bouncing on the ground", "load": "a gun being loaded",
    "m": "an assault rifle firing", "m16 cartridge": "bullet casings falling",
    "mine beep": "a mine beeping", "polecat": "a skunk scurrying",
    "ricoche": "a bullet ricochet", "riot bomb exp": "a bomb exploding",
    "slap": "a slap", "supertux flying": "a penguin flapping its wings",
    "supertux swimming": "a penguin swimming", "syringe": "a syringe squirting",
    "teleport land": "a teleport landing", "teleport start": "a teleport starting",
    "airhammer selected": "a pneumatic hammer starting", "airhammer used":
    "a pneumatic hammer drilling", "shotgun": "a shotgun blast", "backjump": "a cartoon jump",
    "superjump": "a cartoon super jump", "tree hit": "crashing into a tree",
    "pickup": "a pickup chime", "applause": "an audience applauding",
    "destroy group": "bubbles popping", "hurry": "a hurry-up alarm", "launch": "a bubble "
    "launched", "lose": "a losing jingle", "rebound": "a bubble rebounding", "snore":
    "someone snoring", "stick": "a bubble sticking", "typewriter": "a typewriter typing",
    "chatted": "a chat message blip", "malus": "a penalty buzz", "menu change": "a menu tick",
    "menu selected": "a menu selection click", "newroot": "a row of bubbles dropping",
    "newroot solo": "a row of bubbles dropping", "noh": "a disappointed groan",
    "pause": "a pause chime", "boom": "a boom", "explo big": "a big explosion",
    "explo pop": "a small explosion pop", "explo std": "an explosion",
    "life add": "an extra life jingle", "life lose": "a life lost jingle",
    "power": "a power-up chime",
}
_WARMUX_VOICES = {"death": "a cartoon character dying", "injured": "a cartoon character crying "
                  "out in pain", "fire": "a cartoon character shouting an order",
                  "friendly fire": "a cartoon character complaining", "happy": "a cartoon "
                  "character cheering", "jump": "a cartoon character jumping with a grunt",
                  "superjump": "a cartoon character leaping with a shout",
                  "backjump": "a cartoon character jumping back with a grunt"}
_MINETEST_PREFIX = re.compile(r"^(default|doors|env sounds|fire|tnt|xpanes|carts|player)\s+")


def _words(stem: str) -> str:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)  # camelCase
    text = re.sub(r"[._\-]+", " ", text)
    text = re.sub(r"\b\d+\b|(?<=[a-z])\d+$", "", text)  # take numbers
    return " ".join(text.lower().split())


_0AD_LANGUAGES = {"greek": "ancient Greek", "latin": "Latin", "persian": "Old Persian",
                  "napatan": "Meroitic"}
_0AD_FOLDERS = {  # folder under audio/ -> caption (or a dict by the first words of the name)
    "ambient/weather": {"rain": "rain falling steadily outdoors", "snowstorm": "a howling "
                        "snowstorm", "thunder": "thunder rolling in a storm", "wind": "wind "
                        "blowing across open land", "windgust": "a strong gust of wind",
                        "windleaves": "wind rustling through the leaves of trees",
                        "windstorm": "a fierce windstorm"},
    "ambient/dayscape": {"day temperate": "a forest ambience by day with birds singing",
                         "day temperate gen": "a countryside ambience by day with birds",
                         "day tropical": "a tropical jungle ambience with birds and insects"},
    "ambient/water": {"river fast": "a fast river flowing", "river med": "a river flowing",
                      "river raging": "a raging river", "river slow": "a slow river trickling",
                      "waterfall": "a waterfall rushing", "wave": "sea waves lapping on a shore",
                      "wavecrash": "sea waves crashing", "waverocky": "waves breaking on rocks"},
    "ambient/building": {"amb farm": "a farmyard ambience with animals",
                         "amb port": "a busy harbour ambience", "amb trade":
                         "a busy marketplace ambience with a crowd"},
    "attack/destruction": {"building collapse large": "a large building collapsing",
                           "explode debris": "an explosion scattering debris"},
    "attack/fire": "fire crackling and roaring",
    "attack/impact": {"arrow dirt": "an arrow hitting dirt", "arrow metal": "an arrow hitting "
                      "metal", "arrow stone": "an arrow hitting stone", "arrow wood": "an arrow "
                      "hitting wood", "arrow": "an arrow hitting its target",
                      "fleshimp": "a blow landing on flesh", "fleshstab": "a blade stabbing flesh",
                      "shield metal": "a blow on a metal shield", "shield wood": "a blow on a "
                      "wooden shield", "siegeprojectilehit": "a heavy stone projectile smashing",
                      "sling metal": "a sling stone hitting metal", "sling stone": "a sling stone "
                      "hitting stone", "sling wood": "a sling stone hitting wood"},
    "attack/siege": {"ballist": "a ballista firing", "onager moving": "a wooden siege engine "
                     "creaking along", "onager shooting": "a catapult launching a stone",
                     "ram": "a battering ram pounding a gate", "siege select":
                     "a wooden siege engine creaking"},
    "attack/weapon": {"musket": "an old musket firing", "arrowfly": "an arrow whizzing past",
                      "bow attack": "a bow shooting an arrow", "jav attack": "a javelin thrown",
                      "pike attack": "a pike thrust", "sling": "a sling whirling and releasing",
                      "spear attack": "a spear thrust", "sword attack": "swords clashing",
                      "swordhit": "a sword striking metal"},
    "actor/fauna/animal": {"camel": "a camel grunting", "cattle": "cattle mooing",
                           "chicken": "a chicken clucking", "elephant": "an elephant trumpeting",
                           "flamingo": "a flamingo calling", "horse death": "a horse dying with "
                           "a scream", "horse": "a horse neighing", "lion": "a lion roaring",
                           "peacock": "a peacock calling", "pig": "a pig grunting",
                           "sheep": "a sheep bleating"},
    "actor/fauna/death": {"goat": "a goat bleating", "death camel": "a camel groaning",
                          "death horse": "a horse dying with a scream",
                          "animal death generic": "an animal dying"},
    "actor/fauna/movement": "a camel walking",
    "actor/gate": {"stonegate close": "a heavy stone gate closing",
                   "stonegate open": "a heavy stone gate opening"},
    "actor/human/death": {"female death": "a woman crying out as she dies",
                          "male death": "a man crying out as he dies",
                          "death": "a soldier crying out as he dies"},
    "actor/human/movement": {"hstep run": "footsteps running on dirt", "hstep": "footsteps "
                             "walking on dirt"},
    "actor/mounted/death": "a horse dying with a scream",
    "actor/mounted/movement": "a horse galloping",
    "actor/ship": {"warship death": "a wooden warship breaking apart", "": "a wooden ship "
                   "creaking and oars splashing"},
    "resource/construction": {"con saw": "a hand saw cutting wood", "con stone": "a mason "
                              "chiselling stone", "con wood": "hammering on wood"},
    "resource/farming": "a hoe digging into soil", "resource/foraging": "leaves rustling",
    "resource/gathering": {"gather field": "grain being harvested with a sickle",
                           "gather fruit": "fruit being picked from a tree",
                           "gather meat": "meat being butchered", "": "gathering resources"},
    "resource/lumbering": {"lumber treeexpire": "a tree falling", "lumber tree":
                           "an axe chopping a tree"},
    "resource/mining": {"mine metal": "a pickaxe striking metal ore", "mine stone":
                        "a pickaxe striking stone"},
    "interface/alarm": "a game alert horn", "interface/complete": "a short fanfare",
    "interface/select": "a short interface chime", "interface/ui": "an interface chime",
}


_OPENARENA = (  # (folder or file-name start under sound/, caption), first match wins
    ("player/footsteps/clank", "boots clanking on a metal floor"),
    ("player/footsteps/splash", "footsteps splashing through water"),
    ("player/footsteps/energy", "footsteps on a humming energy floor"),
    ("player/footsteps/flesh", "squelching footsteps"),
    ("player/footsteps/mech", "heavy mechanical footsteps"),
    ("player/footsteps", "boots stepping on a hard floor"),
    ("player/sarge/death", "a man dying with a cry"), ("player/sarge/pain",
                                                       "a man grunting in pain"),
    ("player/sarge/drown", "a man drowning"), ("player/sarge/gasp", "a man gasping for air"),
    ("player/sarge/fall", "a man screaming as he falls"), ("player/sarge/jump",
                                                          "a man grunting as he jumps"),
    ("player/sarge/taunt", "a man laughing mockingly"), ("player/gib", "a gory squelch"),
    ("player/watr", "a splash into water"), ("player/gurp", "bubbling underwater"),
    ("player/land", "landing on the ground with a thud"), ("player/fry", "a sizzling burn"),
    ("weapons/machinegun/ric", "a bullet ricochet"),
    ("weapons/machinegun/buletby", "a bullet whizzing past"),
    ("weapons/machinegun", "a machine gun firing"), ("weapons/vulcan", "a rotary gun firing"),
    ("weapons/shotgun", "a shotgun blast"), ("weapons/rocket/rockfly", "a rocket flying"),
    ("weapons/rocket/rocklx", "a rocket exploding"), ("weapons/rocket", "a rocket launcher "
                                                      "firing"),
    ("weapons/grenade/grenlf", "a grenade launcher firing"), ("weapons/grenade",
                                                              "a grenade bouncing"),
    ("weapons/railgun", "a sci-fi railgun firing"), ("weapons/plasma", "a plasma gun firing"),
    ("weapons/lightning", "an electric lightning gun crackling"),
    ("weapons/bfg", "a huge energy weapon charging and firing"),
    ("weapons/proxmine", "a mine exploding"), ("weapons/melee", "a metal gauntlet whirring"),
    ("weapons", "a weapon being switched"), ("items", "a sci-fi item pickup chime"),
    ("misc/menu", "a menu click"), ("misc", "a pickup chime"), ("movers/doors",
                                                             "a sliding metal door"),
    ("movers/plats", "a lift platform moving"), ("movers/switches", "a switch button press"),
    ("feedback", "a hit confirmation blip"), ("world/wind", "wind howling"),
    ("world/demonwind", "an eerie wind howling"), ("world/painwind", "an eerie wind howling"),
    ("world/fire", "a fire crackling"), ("world/lava", "bubbling lava"),
    ("world/waterfall", "a waterfall rushing"), ("world/drops", "water dripping in a cave"),
    ("world/growl", "a monster growling"), ("world/new/moan", "a ghostly moan"),
    ("world/fan", "a large fan whirring"), ("world/electro", "electricity crackling"),
    ("world/neonhum", "a neon light humming"), ("world/tim_pump", "a machine pump thumping"),
    ("world/machinery", "a machinery drone"), ("world/tim_machine", "a machinery drone"),
    ("world/jumppad", "a jump pad launching"), ("world/portal", "a portal humming"),
    ("world/tele", "a teleport whoosh"), ("world", "a dark ambient drone"),
)


def _caption_openarena(path: Path) -> str | None:
    member = path.as_posix().split("/sound/", 1)[-1]
    return next((caption for start, caption in _OPENARENA if member.startswith(start)), None)


def _caption_0ad(path: Path) -> str | None:
    parts = path.as_posix().split("/audio/", 1)[-1].split("/")
    folder, words = "/".join(parts[:-1]), _words(path.stem)
    if parts[0] == "voice":
        language = _0AD_LANGUAGES.get(parts[1], "an ancient language")
        who = "a woman" if " female " in f" {words} " else "a man"
        return f"{who} calling out a short command in {language}"
    for prefix, rule in _0AD_FOLDERS.items():
        if folder == prefix or folder.startswith(prefix + "/"):
            if isinstance(rule, str):
                return rule
            for start, caption in sorted(rule.items(), key=lambda kv: -len(kv[0])):
                if words.startswith(start):
                    return caption
    if folder.endswith("Footsteps") or folder == "actor/singlesteps":
        surface = next((s for s in SURFACES if s in words), "the ground")
        pace = "running" if "running" in words else "walking"
        return f"footsteps {pace} on {SURFACES.get(surface, surface)}"
    return None


def caption_from_name(path: Path, source: str) -> str:
    """A natural caption for a recorded file, from its name and folder."""
    if source in ("0ad", "openarena"):
        caption = (_caption_0ad if source == "0ad" else _caption_openarena)(path)
        if caption:
            return caption
    words = _words(path.stem)
    if source == "minetest":
        words = _MINETEST_PREFIX.sub("", words)
    if source == "freedesktop":
        words = words.replace("dialog ", "").replace("message new instant", "message")
    if source == "warmux" and path.parent.name == "voices":
        key = re.sub(r" (high|medium|light)$", "", words)
        return _WARMUX_VOICES.get(key, "a cartoon character's voice")
    if source == "oxygen":
        words = re.sub(r"^oxygen (sys |im |k3b |window )?", "", words)
        return f"a desktop {words} notification sound"
    match = re.fullmatch(r"(grass|ice|leaves|mud|rock|snow) slide", words)
    if match:
        return f"sliding fast over {match.group(1)}"
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
