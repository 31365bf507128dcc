"""Composition helpers: keys, beds, procedural effects and recorded-file captions."""

from pathlib import Path

import numpy as np
import pytest

from latentaudio.data import procedural
from latentaudio.data.music import GENRES, compose_bed, describe
from latentaudio.data.sound_classes import caption_for, sound_class
from latentaudio.theory import INSTRUMENTS, KEYS, Key


@pytest.mark.parametrize(("text", "name"), [("A minor", "A minor"), ("f# major", "F# major"),
                                             ("Db major", "C# major"), ("Bbm", "Bb minor"),
                                             ("E♭ min", "Eb minor")])
def test_key_parsing(text, name):
    assert Key.parse(text).name == name


def test_key_parsing_rejects_nonsense():
    with pytest.raises(ValueError):
        Key.parse("H dorian")


def test_all_24_keys_and_scales():
    assert len(KEYS) == 24 and len(set(KEYS)) == 24
    assert Key.parse("A minor").chord(0, octave=3) == [57, 60, 64]
    assert Key.parse("C major").chord(4, octave=3, notes=4) == [55, 59, 62, 65]  # G7


def test_at_least_8_genres_and_10_instrument_families():
    assert len(GENRES) >= 8
    programs = {p for g in GENRES for p in (*g.chords, *g.bass, *g.lead)}
    families = {INSTRUMENTS[p][1] for p in programs}
    assert len(families) >= 10


def test_bed_notes_stay_in_key_and_caption_states_the_labels():
    rng = np.random.default_rng(0)
    for genre in GENRES:
        bed = compose_bed(rng, 6.0, genre=genre, key=Key.parse("E minor"), bpm=100)
        scale = {(4 + step) % 12 for step in (0, 2, 3, 5, 7, 8, 10)}
        pitched = [n.pitch % 12 for n in bed.notes if n.channel != 9]
        in_key = np.mean([p in scale for p in pitched])
        assert in_key > 0.9, genre.name  # walking bass adds a chromatic approach note
        caption, tags = describe(bed, rng)
        assert "100" in caption and "E minor" in caption
        assert genre.name in tags and "E minor" in tags


def test_procedural_families_are_at_least_12_and_well_formed():
    assert len(procedural.FAMILIES) >= 12
    rng = np.random.default_rng(0)
    for family in procedural.FAMILIES:
        effect = procedural.make_effect(rng, 1.5, family)
        assert effect.audio.shape == (2, 66_150) and effect.audio.dtype == np.float32
        assert np.isfinite(effect.audio).all()
        assert np.abs(effect.audio).max() == pytest.approx(0.9, abs=1e-3)
        assert effect.caption and effect.category == family


@pytest.mark.parametrize(("name", "source", "caption"), [
    ("default_gravel_footstep.2.ogg", "minetest", "footsteps on gravel"),
    ("doors_steel_door_open.ogg", "minetest", "a steel door opening"),
    ("orc-die-2.ogg", "wesnoth", "an orc dying with a cry"),
    ("crossbow-miss.ogg", "wesnoth", "a crossbow shot missing its target"),
    ("shotgunfire.ogg", "hedgewars", "a shotgun blast"),
    ("dog.mp3", "ovos-animals", "a dog barking"),
    ("rain.ogg", "supertuxkart", "rain falling"),
    ("waterfall_loop_2.ogg", "supertuxkart", "a waterfall rushing"),
    ("voices/injured_high2.ogg", "warmux", "a cartoon character crying out in pain"),
    ("explosion7.ogg", "warmux", "an explosion"),
    ("snow_slide.wav", "extremetuxracer", "sliding fast over snow"),
    ("Oxygen-Sys-Trash-Emptied.ogg", "oxygen", "a desktop trash emptied notification sound"),
    ("exploBig.wav", "chromium-bsu", "a big explosion"),
])
def test_recorded_captions_read_naturally(name, source, caption):
    assert caption_for(Path("/nowhere") / name, source)[0] == caption


def test_sound_classes():
    assert sound_class("footsteps on gravel") == "footsteps"
    assert sound_class("a dog barking") == "dog"
    assert sound_class("a man grunting in pain") == "voice"
    cases = {"rain falling on a tin roof": "rain", "thunder rumbling": "thunder",
             "a strong wind blowing through trees": "wind", "a horse neighing": "horse",
             "an owl hooting": "birds", "a cricket chirping": "insect", "a cat meowing": "animal",
             "a rocket flying": "vehicle", "a large engine running": "engine",
             "an audience applauding": "crowd", "a bell ringing": "alarm",
             "a pneumatic hammer drilling": "machinery", "a metal clang": "metal",
             "glass shattering": "glass", "a busy restaurant ambience": "crowd"}
    assert {caption: sound_class(caption) for caption in cases} == cases
    # Whole words: "flying" is no fly, "scattering" no cat.
    assert sound_class("a bird flying over") == "birds"
    assert sound_class("leaves scattering") != "animal"


@pytest.mark.parametrize(("member", "caption"), [
    ("audio/ambient/weather/rain_01.ogg", "rain falling steadily outdoors"),
    ("audio/ambient/weather/windleaves.ogg", "wind rustling through the leaves of trees"),
    ("audio/ambient/water/river_raging.ogg", "a raging river"),
    ("audio/actor/singlesteps/fs_gravel8.ogg", "footsteps walking on gravel"),
    ("audio/actor/human/movement/Footsteps/Footstep_Sand_Running.ogg",
     "footsteps running on sand"),
    ("audio/voice/latin/civ/civ_male_march_1.ogg", "a man calling out a short command in Latin"),
    ("audio/resource/lumbering/lumber_treeexpire_03.ogg", "a tree falling"),
    ("audio/actor/fauna/animal/horse_death2.ogg", "a horse dying with a scream"),
])
def test_0ad_captions_come_from_the_folders(member, caption):
    assert caption_for(Path("/x/public.zip") / member, "0ad")[0] == caption


@pytest.mark.parametrize(("member", "caption"), [
    ("sound/player/footsteps/clank3.wav", "boots clanking on a metal floor"),
    ("sound/weapons/machinegun/ric2.wav", "a bullet ricochet"),
    ("sound/world/wind1.wav", "wind howling"),
    ("sound/player/sarge/pain75_1.wav", "a man grunting in pain"),
])
def test_openarena_captions_come_from_the_folders(member, caption):
    assert caption_for(Path("/x/pak0.pk3") / member, "openarena")[0] == caption


def test_sounds_inside_an_archive_are_files(tmp_path):
    import zipfile
    from dataclasses import replace

    from latentaudio.audio import save_audio
    from latentaudio.data.recorded import read_recording, sources
    from tests.signals import sine

    save_audio(tmp_path / "rain.wav", sine(440.0, 0.5, channels=1))
    with zipfile.ZipFile(tmp_path / "public.zip", "w") as bundle:
        bundle.write(tmp_path / "rain.wav", "audio/ambient/weather/rain.wav")
        bundle.write(tmp_path / "rain.wav", "audio/music/theme.wav")  # excluded: music
        bundle.writestr("art/readme.txt", "not audio")
    source = replace(next(s for s in sources() if s.name == "0ad"), root=tmp_path)
    files = source.files()
    assert files == [tmp_path / "public.zip" / "audio/ambient/weather/rain.wav"]
    audio = read_recording(files[0])
    assert audio.shape == (2, 22_050) and abs(audio).max() > 0.1


def test_per_file_licences_from_a_dep5_copyright_file(tmp_path):
    from latentaudio.data.licenses import file_license

    copyright_file = tmp_path / "copyright"
    copyright_file.write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2020 The Team\nLicense: GPL-3+\n\n"
        "Files: data/sfx/rain.ogg\n data/sfx/thunder.ogg\nCopyright: 2011 Mike\n"
        "License: CC-BY-3.0\n Some text.\n\n"
        "Files: data/sfx/wilhelm*\nCopyright: N/A\nLicense: public-domain\n")
    installed = "/usr/share/games/game/data/sfx"
    assert file_license(copyright_file, f"{installed}/rain.ogg", "x") == ("CC-BY-3.0",
                                                                           "2011 Mike")
    assert file_license(copyright_file, f"{installed}/thunder.ogg", "x")[0] == "CC-BY-3.0"
    assert file_license(copyright_file, f"{installed}/wilhelm_2.ogg", "x")[0] == "public-domain"
    assert file_license(copyright_file, f"{installed}/skid.ogg", "x")[0] == "GPL-3+"
    assert file_license(tmp_path / "none", f"{installed}/skid.ogg", "x") == ("x", "")


def test_no_reserved_package_is_a_source():
    """DESIGN.md reserves these 26 for independent evaluation: never trained on."""
    from latentaudio.data.recorded import sources

    reserved = {"7kaa-data", "btanks-data", "endless-sky-data", "flare-game", "freecol",
                "freedink-data", "freedroidrpg-data", "freeorion-data", "granatier",
                "lincity-ng-data", "lmms-common", "megaglest-data", "opencity-data",
                "openclonk-data", "powermanga-data", "redeclipse-data", "scorched3d-data",
                "sonic-pi-samples", "stormbaancoureur-data", "supercollider-common",
                "supertux-data", "torcs-data", "unknown-horizons", "warzone2100-music",
                "wesnoth-1.16-music", "widelands-data"}
    assert not {source.package for source in sources()} & reserved


def test_a_soundtrack_becomes_crops_with_estimated_tempo_and_key(tmp_path):
    """A real music recording is cut into crops; a steady 120 bpm C-major pulse is labelled so,
    with every estimate and its confidence kept for training to filter on."""
    from latentaudio.audio import SAMPLE_RATE, save_audio
    from latentaudio.data.corpus import SIZES, Job, _run_recording

    t = np.arange(25 * SAMPLE_RATE) / SAMPLE_RATE
    beat = np.exp(-(t % 0.5) * 30)  # a decaying hit every half second: 120 bpm
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0, 130.81))
    music = (0.15 * chord * (0.4 + beat)).astype(np.float32)
    save_audio(tmp_path / "theme.ogg", np.stack([music, music]))
    job = Job("test-music", 0, "test-music/theme", {
        "path": str(tmp_path / "theme.ogg"), "license": "CC0-1.0", "kind": "music",
        "describe": "a test soundtrack"})
    clips = _run_recording(job, tmp_path / "out", 0, SIZES["full"])
    assert len(clips) == 3 and all(c.kind == "music" and c.category == "soundtrack"
                                   for c in clips)  # 10 s, 10 s and the last 5 s
    first = clips[0]
    assert [c.extra["offset_seconds"] for c in clips] == [0, 10, 20]
    assert first.bpm == 120 and first.key == "C major"
    assert first.caption == "a test soundtrack, 120 bpm, C major"
    assert first.extra["bpm_confident"] and first.extra["key_margin"] >= 0.1


def test_the_same_sound_twice_is_kept_once():
    """A re-encoded copy from another package is a duplicate; another sound is not, and the
    crops of one recording never are each other's."""
    from latentaudio.data.duplicates import deduplicate, fingerprint
    from latentaudio.data.manifest import Clip

    rng = np.random.default_rng(0)
    bark = rng.standard_normal((2, 30_000)) * np.exp(-np.linspace(0, 8, 30_000))
    copy = (bark * 0.5 + rng.standard_normal(bark.shape) * 1e-4).astype(np.float32)  # quieter
    other = np.sin(2 * np.pi * 440 * np.arange(30_000) / 44_100)[None].repeat(2, 0)

    def clip(name, audio, group):
        return Clip(name, f"{name}.flac", "x", [], name.split("-")[0], "CC0-1.0", 0.68,
                    "train", group=group, extra={"fingerprint": fingerprint(audio).tolist()})

    clips = [clip("a-1", bark, "a/1"), clip("b-1", copy, "b/1"), clip("c-1", other, "c/1"),
             clip("a-2", bark, "a/1")]
    kept, pairs = deduplicate(clips)
    assert [c.id for c in kept] == ["a-1", "c-1", "a-2"] and pairs == [("b-1", "a-1")]


def test_the_summary_counts_real_recordings_and_keyless_music():
    from latentaudio.data.corpus import format_summary, summarise
    from latentaudio.data.manifest import Clip

    clips = [Clip("0ad-music-0001-0", "a.flac", "x", ["soundtrack", "0ad-music", "recorded"],
                  "0ad-music", "CC-BY-SA-3.0", 10.0, "train", kind="music",
                  category="soundtrack", bpm=96.0),  # a tempo, no confident key
             Clip("procedural-0001", "b.flac", "y", ["rain"], "procedural", "CC0-1.0", 3.0,
                  "train", category="rain")]
    summary = summarise(clips, [])
    assert summary["real_recordings"] == {"clips": 1, "hours": 0.003, "packages": ["0ad-data"]}
    assert summary["key_histogram"] == {}
    assert "real recordings: 1 clips" in format_summary(summary)
