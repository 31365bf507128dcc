"""Songs with sung vocals: structure, lyrics and word timing, and a voice where words are."""

import itertools

import numpy as np

from latentaudio.audio import SAMPLE_RATE
from latentaudio.data import songs
from latentaudio.tokens.lyrics import words_between


def test_structure_fills_the_song_and_ends_with_an_outro():
    for bars in (4, 8, 13, 40):
        plan = songs.plan_structure(bars)
        assert sum(b for _, b in plan) == bars
        assert any(name in songs.SUNG for name, _ in plan)
    long = [name for name, _ in songs.plan_structure(40)]
    assert long[0] == "intro" and long[-1] == "outro" and "bridge" in long and "chorus" in long


def test_lyrics_and_words_line_up():
    song = songs.compose_song(np.random.default_rng(3), 24.0, bpm=120)  # verse and chorus
    assert song.words and all(0 <= w.start < w.end <= 24.0 for w in song.words)
    lyrics = song.lyrics
    assert lyrics.startswith("[") and all(f"[{w.section}]" in lyrics for w in song.words)
    lines: dict[int, list] = {}
    for word in song.words:
        lines.setdefault(word.line, []).append(word)
    text = [line for line in lyrics.splitlines() if not line.startswith("[")]
    assert text == [" ".join(w.word for w in line) for line in lines.values()]
    assert all(w.start < v.start for line in lines.values() for w, v in itertools.pairwise(line))
    bar = 240.0 / song.bed.bpm
    assert all(line[-1].end - line[0].start <= bar + 1e-6 for line in lines.values())
    choruses = {" ".join(w.word for w in line) for line in lines.values()
                if line[0].section == "chorus"}
    assert any(w.section == "chorus" for w in song.words) and len(choruses) == 2  # the hook
    middle = song.words[len(song.words) // 2]
    excerpt = words_between([w.__dict__ for w in song.words], middle.start - 0.01, middle.end)
    assert excerpt.endswith(middle.word) and excerpt.startswith(f"[{middle.section}]")


def test_the_voice_sings_where_the_words_are():
    song = songs.compose_song(np.random.default_rng(0), 6.0)
    vocals = songs.sing(song)
    assert vocals.shape == (int(6.0 * SAMPLE_RATE),)
    sung = np.zeros(len(vocals), dtype=bool)
    for word in song.words:
        sung[int(word.start * SAMPLE_RATE): int(word.end * SAMPLE_RATE)] = True
    assert sung.any() and np.abs(vocals[~sung]).max(initial=0) < 1e-6
    assert np.sqrt(np.mean(vocals[sung] ** 2)) > 0.01
    mix = songs.render_song(song)
    assert mix.shape[0] == 2 and abs(mix.shape[1] - len(vocals)) <= SAMPLE_RATE
    band, voice = songs.render_stems(song)
    assert band.shape == voice.shape == mix.shape
    np.testing.assert_allclose(band + voice, mix, atol=1e-6)  # the stems are the mix's parts
    np.testing.assert_array_equal(voice[0], voice[1])  # the voice is centred
    heard = sung[: voice.shape[1]]  # between lines only the room's tail is left
    assert np.sqrt(np.mean(voice[:, ~heard] ** 2)) < 0.25 * np.sqrt(np.mean(voice[:, heard] ** 2))


def test_lines_are_sentences_of_the_grammar():
    rng = np.random.default_rng(0)
    for _ in range(50):
        line = songs.make_line(rng)
        assert 3 <= len(line) <= 7 and all(word.isalpha() for word in line)


def test_a_line_is_sung_for_its_length_on_its_notes():
    for voice, notes in (("en-us", [48, 50, 52, 50, 48]), ("en-us+f3", [60, 62, 64, 65, 67])):
        audio = songs.sing_line("we run through the night".split(), notes, 1.6, voice)
        assert audio.shape == (int(1.6 * SAMPLE_RATE),)
        sung = songs.median_pitch(audio)
        assert abs(12 * np.log2(sung / songs._hz(float(np.median(notes))))) < 1.0


def test_dataset_crops_carry_the_lyrics_sung_in_them(tmp_path):
    from latentaudio.audio import save_audio
    from latentaudio.data.dataset import ClipDataset
    from latentaudio.data.manifest import Clip
    from latentaudio.tokens.lyrics import decode_ids

    song = songs.compose_song(np.random.default_rng(5), 8.0)
    save_audio(tmp_path / "s.wav", np.zeros((2, 8 * SAMPLE_RATE), np.float32))
    words = [dict(w.__dict__) for w in song.words]
    clip = Clip("s", "s.wav", "a song", [], "songs", "CC0", 8.0, "train", kind="music",
                extra={"words": words})
    plain = Clip("p", "s.wav", "a bed", [], "beds", "CC0", 8.0, "train", kind="music")
    dataset = ClipDataset([clip, plain], tmp_path, seconds=3.0, random_crop=False, lyric_ids=48)
    sung, silent = dataset[0]["lyrics"], dataset[1]["lyrics"]
    assert sung.shape == silent.shape == (48,)
    assert int(silent.abs().sum()) == 0
    first = [w for w in song.words if w.start < 3.0]
    assert decode_ids(sung).startswith(f"[{first[0].section}]")
    # With a feature cache: the phoneme sung at each of the crop's frames, from the same times.
    import torch

    from latentaudio.data.dataset import FeatureCache
    from latentaudio.tokens.lyrics import sung_frames

    cache = FeatureCache(lambda audio: torch.zeros(3, audio.shape[-1] // 2048), 44_100 / 2048,
                         tmp_path / "cache", "zeros")
    framed = ClipDataset([clip, plain], tmp_path, seconds=3.0, random_crop=False, lyric_ids=48,
                         features=cache, sung=True)
    item = framed[0]
    assert item["sung"].shape == (item["features"].shape[-1],)
    assert torch.equal(item["sung"], sung_frames(words, 0.0, len(item["sung"]), 44_100 / 2048))
    assert int(item["sung"].gt(0).sum()) > 0 and int(framed[1]["sung"].sum()) == 0
