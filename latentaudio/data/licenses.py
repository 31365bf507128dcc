"""Per-file licences from a Debian package's machine-readable copyright file (DEP-5).

A game's data package often mixes licences (CC-BY-3.0 for one sound, CC-BY-SA for the next);
its ``/usr/share/doc/PACKAGE/copyright`` says which in ``Files:`` stanzas. DEP-5's own rule: the
last stanza whose patterns match a file wins. The patterns name paths in the *source* tree, not
where the files are installed, so a pattern is tried against every tail of the installed path
(``data/sfx/rain.ogg``, ``sfx/rain.ogg``, ...).

Written here because no maintained Python library parses DEP-5 (python-debian's copyright module
is Debian-only, not on PyPI in a usable form for this).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Stanza:
    patterns: tuple[str, ...]
    license: str
    copyright: str


def parse_dep5(text: str) -> list[Stanza]:
    """The ``Files:`` stanzas of a DEP-5 copyright file, in order; [] for an older free-form
    file (which has none)."""
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        name = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and name is not None:
                fields[name] += "\n" + line.strip()
            elif ":" in line:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                fields[name] = value.strip()
        if "files" in fields and "license" in fields:
            stanzas.append(Stanza(tuple(fields["files"].split()),
                                  fields["license"].splitlines()[0].strip(),
                                  " ".join(fields.get("copyright", "").split())))
    return stanzas


@lru_cache(maxsize=64)
def _stanzas(copyright_file: str) -> tuple[Stanza, ...]:
    path = Path(copyright_file)
    if not path.is_file():
        return ()
    return tuple(parse_dep5(path.read_text(encoding="utf-8", errors="replace")))


def file_license(copyright_file: str | Path, installed: str | Path,
                 default: str) -> tuple[str, str]:
    """``(licence, copyright holders)`` of one installed file by the package's copyright file;
    ``(default, "")`` when no stanza matches (or the file is not DEP-5)."""
    parts = PurePosixPath(str(installed)).parts
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = (default, "")
    for stanza in _stanzas(str(copyright_file)):
        if stanza.patterns == ("*",) or any(fnmatchcase(tail, pattern)
                                            for pattern in stanza.patterns for tail in tails):
            found = (stanza.license, stanza.copyright)
    return found
