"""Commands on audio files: demo, reconstruct, encode, decode, info."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentaudio.cli.common import Command, add_decoder_option, positive_int
from latentaudio.errors import LatentAudioError

CHECKPOINT_HELP = "model folder with vae/ and vocoder/ (default: the shipped model)"


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--out", type=Path, default=Path("latentaudio-demo"),
                        help="folder for the two WAV files (default: %(default)s)")
    parser.add_argument("--iters", type=positive_int, default=64,
                        help="Griffin-Lim iterations (default: %(default)s)")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="model folder whose vae/ and vocoder/ to compare too (default: the "
                        "shipped one, when present)")


def _demo(args: argparse.Namespace) -> None:
    from latentaudio.codec import DEFAULT_MODEL
    from latentaudio.demo import run_demo

    report = run_demo(args.out, n_iter=args.iters, progress=not args.quiet,
                      codec_folder=args.checkpoint or DEFAULT_MODEL)
    print(f"rendered {report.seconds:.1f} s of piano, bass and drums with FluidSynth "
          f"({report.soundfont}) -> {report.original}")
    print("rebuilt it from its stereo 128-band log-mel (0 = identical):")
    for item in report.reconstructions:
        print(f"  {item.method:<15} log-mel L1 {item.log_mel_l1:.3f}, spectral convergence "
              f"{item.spectral_convergence:.3f}, {item.seconds_taken:.2f} s -> {item.path}")
    if len(report.reconstructions) == 1:
        print("  (no trained codec found: only the Griffin-Lim baseline was run)")


def _reconstruct_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="audio file (WAV, FLAC, OGG or MP3, any rate)")
    parser.add_argument("-o", "--out", type=Path, required=True,
                        help="output file; the extension picks the format (wav, flac, ogg, mp3)")
    parser.add_argument("--through", choices=["vae", "vocoder", "griffin-lim"], default="vae",
                        help="vae: encode -> decode -> mel to audio (default); vocoder: the "
                        "true mel to audio; griffin-lim: the true mel through Griffin-Lim, "
                        "no model needed")
    parser.add_argument("--checkpoint", type=Path, default=None, help=CHECKPOINT_HELP)
    add_decoder_option(parser)
    parser.add_argument("--iters", type=positive_int, default=64,
                        help="Griffin-Lim iterations (default: %(default)s)")


def _load_codec(args: argparse.Namespace, griffin_lim_only: bool = False):
    from latentaudio.codec import DEFAULT_MODEL, LatentCodec

    return LatentCodec.from_pretrained(args.checkpoint or DEFAULT_MODEL,
                                       griffin_lim_only=griffin_lim_only)


def _reconstruct(args: argparse.Namespace) -> None:
    import torch

    from latentaudio.audio import load_audio, save_audio
    from latentaudio.mel import MelSpectrogram, griffin_lim

    audio = torch.from_numpy(load_audio(args.input))[None]  # (1, 2, samples)
    samples = audio.shape[-1]
    if args.through == "griffin-lim":
        mel = MelSpectrogram()
        rebuilt = griffin_lim(mel(audio), mel, n_iter=args.iters, length=samples,
                              progress=not args.quiet)
    else:
        codec = _load_codec(args)
        if args.through == "vocoder":
            rebuilt = codec.vocode(codec.mel(audio), samples, args.decoder)
        else:
            rebuilt = codec.reconstruct(audio, args.decoder)
    path = save_audio(args.out, rebuilt[0].numpy())
    print(f"wrote {path} ({samples / 44_100:.2f} s, stereo 44.1 kHz, through {args.through})")


def _encode_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help="audio file (WAV, FLAC, OGG or MP3, any rate)")
    parser.add_argument("-o", "--out", type=Path, required=True,
                        help="latents file to write (.safetensors)")
    parser.add_argument("--checkpoint", type=Path, default=None, help=CHECKPOINT_HELP)


def _encode(args: argparse.Namespace) -> None:
    import torch

    from latentaudio.audio import load_audio
    from latentaudio.latents import save_latents

    codec = _load_codec(args, griffin_lim_only=True)
    audio = torch.from_numpy(load_audio(args.input))[None]
    latents = codec.encode(audio)
    path = save_latents(args.out, latents[0], samples=audio.shape[-1],
                        sample_rate=codec.sample_rate, source=str(args.input))
    print(f"wrote {path}: latents {tuple(latents.shape[1:])} at {codec.vae.latent_rate:.1f} "
          f"frames/s for {audio.shape[-1] / codec.sample_rate:.2f} s of audio")


def _decode_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("latents", type=Path, help="a .safetensors file from 'encode'")
    parser.add_argument("-o", "--out", type=Path, required=True,
                        help="output audio file (wav, flac, ogg, mp3)")
    parser.add_argument("--checkpoint", type=Path, default=None, help=CHECKPOINT_HELP)
    add_decoder_option(parser)
    parser.add_argument("--griffin-lim", action="store_true",
                        help="the same as --decoder griffin-lim (no vocoder is loaded)")


def _decode(args: argparse.Namespace) -> None:
    from latentaudio.audio import save_audio
    from latentaudio.latents import load_latents

    latents, samples = load_latents(args.latents)
    codec = _load_codec(args, griffin_lim_only=args.griffin_lim)
    if latents.shape[0] != codec.vae.config.latent_channels:
        raise LatentAudioError(f"{args.latents} holds {latents.shape[0]} latent channels; this "
                               f"model uses {codec.vae.config.latent_channels}")
    audio = codec.decode(latents[None], samples, None if args.griffin_lim else args.decoder)
    path = save_audio(args.out, audio[0].numpy())
    print(f"wrote {path} ({samples / codec.sample_rate:.2f} s)")


def _info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, nargs="+", help="audio files")


def _info(args: argparse.Namespace) -> None:
    import numpy as np

    from latentaudio.audio import audio_info, load_audio

    for path in args.input:
        info = audio_info(path)
        audio = load_audio(path, sample_rate=info.sample_rate)
        peak_db = 20 * np.log10(max(float(np.abs(audio).max()), 1e-10))
        print(f"{path}: {info.format}, {info.sample_rate} Hz, {info.channels} ch, "
              f"{info.seconds:.2f} s, peak {peak_db:.1f} dBFS")


COMMANDS = [
    Command("demo", "render a short phrase with FluidSynth and rebuild it from its log-mel "
            "(Griffin-Lim)", _demo_arguments, _demo),
    Command("reconstruct", "audio -> latents -> audio through the codec (or just the vocoder, "
            "or Griffin-Lim)", _reconstruct_arguments, _reconstruct),
    Command("encode", "audio -> VAE latents (.safetensors)", _encode_arguments, _encode),
    Command("decode", "VAE latents (.safetensors) -> audio", _decode_arguments, _decode),
    Command("info", "print the format, rate, channels, length and peak of audio files",
            _info_arguments, _info),
]
