"""The prompt safety filter: the shipped list, obfuscations, everyday-word names, no false
refusals on the evaluation prompts and corpus-style captions, and the refusal at every entry."""

import json
from pathlib import Path

import pytest

from latentaudio.conditioning.safety import NAMES_FILE, SafetyFilter, parse_names, skeleton_words
from latentaudio.errors import LatentAudioError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def safety():
    return SafetyFilter.default()


def test_the_shipped_list_has_thousands_of_names(safety):
    assert len(safety.names) >= 2500
    assert sum(n.everyday for n in safety.names) < len(safety.names) / 2


@pytest.mark.parametrize("prompt", [
    "in the style of Taylor Swift",
    "taylor swift",
    "TAYLOR SWIFT",
    "T a y l 0 r  S w i f t style pop",
    "t.a.y.l.o.r s.w.i.f.t",
    "tay lor swift ballad",
    "taylorswift",
    "Taaaylor Swiiift",
    "ＴＡＹＬＯＲ ＳＷＩＦＴ",  # full-width
    "Тaylor Swift",  # Cyrillic Т
    "beyonce vocals over trap drums",
    "BEYONCÉ",
    "b!llie e!l!sh whisper pop",
    "a beat inspired by Ed-Sheeran",
    "something like the weeknd",
    "A$AP Rocky flow",
])
def test_named_artists_are_refused_whatever_the_spelling(safety, prompt):
    assert safety.find(prompt) is not None, prompt


@pytest.mark.parametrize("prompt, name", [
    ("in the style of seal", "Seal"),
    ("Seal-style soul vocals", "Seal"),
    ("punk rock like Green Day", "Green Day"),
    ("drake type beat", "Drake"),
    ("arena rock in the style of the killers", "The Killers"),
    ("a song like Heart", "Heart"),
])
def test_everyday_word_names_are_refused_as_artists(safety, prompt, name):
    refusal = safety.find(prompt)
    assert refusal is not None and refusal.name == name


@pytest.mark.parametrize("prompt", [
    "a seal barking on the beach",
    "a male drake quacking by the pond",
    "ice cube clinking in a glass",
    "sounds like heart monitor beeps",
    "green day at the park with birds",
    "imagine dragons roaring in a cave",
    "a cartoon game sound: coin pickup",
    "pitbull barking behind a fence",
    "perc loop, 120 bpm",
    "aurora ambience, icy wind",
    "fade lead synth",
    "a marching band plays like thunder",
])
def test_ordinary_prompts_with_name_words_pass(safety, prompt):
    assert safety.find(prompt) is None, (prompt, safety.find(prompt))


def test_no_refusals_on_the_evaluation_prompts(safety):
    prompts = [json.loads(line)["prompt"]
               for line in (ROOT / "evaluation" / "prompts.jsonl").read_text().splitlines()
               if line.strip()]
    assert len(prompts) > 50
    assert [p for p in prompts if safety.find(p)] == []


def test_no_refusals_on_corpus_captions(safety, tmp_path):
    from latentaudio.data.corpus import build_corpus

    build_corpus(tmp_path / "corpus", size="tiny", progress=False)
    manifest = (tmp_path / "corpus" / "manifest.jsonl").read_text().splitlines()
    captions = [json.loads(line)["caption"] for line in manifest if line.strip()]
    assert captions and [c for c in captions if safety.find(c)] == []


def test_the_list_can_be_extended_or_replaced(tmp_path, monkeypatch):
    from latentaudio.conditioning import safety as module

    extra = tmp_path / "extra.txt"
    extra.write_text("# ours\nZyx Quorble\n~Blue Lantern\n")
    monkeypatch.setenv("LATENTAUDIO_EXTRA_ARTISTS", str(extra))
    module._default_filter.cache_clear()
    combined = SafetyFilter.default()
    assert combined.find("zyx quorble synths") and combined.find("taylor swift")
    assert combined.find("blue lantern by the lake") is None
    assert combined.find("in the style of blue lantern")
    monkeypatch.setenv("LATENTAUDIO_ARTISTS", str(extra))
    replaced = SafetyFilter.default()
    assert replaced.find("taylor swift") is None and replaced.find("zyx quorble")
    monkeypatch.setenv("LATENTAUDIO_ARTISTS", str(tmp_path / "missing.txt"))
    with pytest.raises(LatentAudioError, match="cannot read the artist list"):
        SafetyFilter.default()
    module._default_filter.cache_clear()


def test_skeletons_and_parsing():
    assert skeleton_words("Beyoncé Knowles!") == skeleton_words("BEYONCE knowles")
    assert skeleton_words("P!nk") == skeleton_words("pink")
    assert skeleton_words("a d e l e rocks") == [*skeleton_words("adele"), "rocks"]
    names = parse_names(["# comment", "", "~The Who", "The Weeknd"])
    assert [(n.words, n.everyday) for n in names] == [(("who",), True),
                                                      (tuple(skeleton_words("weeknd")), False)]
    assert NAMES_FILE.is_file()


def test_the_refusal_is_one_clear_line(safety):
    with pytest.raises(LatentAudioError) as error:
        safety.check("a ballad in the style of Adele")
    message = str(error.value)
    assert "\n" not in message and "Adele" in message and "--no-safety-filter" in message
