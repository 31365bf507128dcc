"""Lyrics: sections from markers, phonemes through espeak-ng, ids round trip, clear errors."""

import pytest

from latentaudio.errors import LatentAudioError
from latentaudio.tokens.lyrics import (
    LINE,
    VOCABULARY,
    WORD,
    decode_ids,
    encode_lyrics,
    parse_sections,
    phonemize_lines,
)

LYRICS = """[verse]
hello world
we sing along

[chorus]
hello again
"""


def test_sections_follow_the_markers():
    sections = parse_sections(LYRICS)
    assert [(s.name, s.lines) for s in sections] == [
        ("verse", ["hello world", "we sing along"]), ("chorus", ["hello again"])]
    assert parse_sections("no marker here")[0].name == "verse"
    with pytest.raises(LatentAudioError, match="unknown section"):
        parse_sections("[solo]\nla la")


def test_phoneme_ids_round_trip_to_the_phonemizer_output():
    ids = encode_lyrics(LYRICS)
    assert int(ids.max()) < len(VOCABULARY) <= 128
    assert int((ids == LINE).sum()) == 3 and int((ids == WORD).sum()) == 7
    ipa = phonemize_lines(["hello world", "we sing along", "hello again"])
    text = decode_ids(ids)
    assert text.startswith("[verse]") and "[chorus]" in text
    for line in ipa:
        assert line in text.replace("/", "").replace("  ", " ")
    assert "<unk>" not in text


def test_other_languages_and_bad_ones():
    assert encode_lyrics("hola mundo", language="es").numel() > 5
    with pytest.raises(LatentAudioError, match="cannot phonemise"):
        encode_lyrics("hello", language="xx-nonsense")
