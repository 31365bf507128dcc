"""Prompt preprocessing: duration, tempo, key, genre and mood come out of free text."""

import pytest

from latentaudio.conditioning.prompt import parse_prompt


def test_musiccaps_style_prompt():
    spec = parse_prompt("upbeat rock groove with distorted guitar and drums, 128 bpm, E minor, "
                        "10 seconds")
    assert spec.caption == "upbeat rock groove with distorted guitar and drums"
    assert (spec.bpm, spec.key, spec.seconds) == (128.0, "E minor", 10.0)
    assert spec.genre == "rock" and "upbeat" in spec.moods


@pytest.mark.parametrize(("text", "seconds"), [
    ("rain on a tin roof for 30 seconds", 30.0), ("a 10-second whoosh", 10.0),
    ("ambient drone, 2 minutes", 120.0), ("wind 4.5 s", 4.5), ("a 1:30 long jazz tune", 90.0),
    ("dog barking", None)])
def test_durations(text, seconds):
    assert parse_prompt(text).seconds == seconds


@pytest.mark.parametrize(("text", "key"), [
    ("piano in A minor", "A minor"), ("F# major synth pad", "F# major"),
    ("strings, Bb min", "Bb minor"), ("folk tune in the key of d major", "D major"),
    ("a door creaks open", None)])
def test_keys(text, key):
    assert parse_prompt(text).key == key


def test_tempo_phrasings():
    assert parse_prompt("house beat at 124 BPM").bpm == 124.0
    assert parse_prompt("slow waltz, 90 beats per minute").bpm == 90.0


def test_caption_keeps_the_words_and_drops_only_the_tags():
    spec = parse_prompt("lo-fi hip hop beat with soft piano at 85 bpm in C major")
    assert spec.caption == "lo-fi hip hop beat with soft piano"
    assert spec.genre == "lo-fi hip hop" and spec.bpm == 85.0 and spec.key == "C major"


def test_corpus_caption_round_trips_its_labels():
    spec = parse_prompt("a mellow lo-fi groove featuring electric piano and drums in Ab major "
                        "at 91 BPM")
    assert (spec.key, spec.bpm) == ("Ab major", 91.0)
    assert spec.caption == "a mellow lo-fi groove featuring electric piano and drums"


def test_plain_sound_effect_prompt_is_untouched():
    spec = parse_prompt("footsteps on gravel")
    assert spec.caption == "footsteps on gravel"
    assert spec.seconds is None and spec.bpm is None and spec.key is None and spec.genre is None
