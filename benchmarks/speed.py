"""Generation speed for 10 s of stereo at default settings, against two anchors in the same run.

    .venv/bin/python benchmarks/speed.py [--checkpoint DIR] [--steps N] [--skip-anchors]
        [--json benchmarks/out/speed.json]

Ours: wall time per stage (text encoding, denoising, VAE decode, mel to audio with the default
decoder, postprocess), the
real-time factor and peak memory, with the shipped model (or, when there is none yet, the same
architectures with random weights: timing only). Anchors, built in diffusers with random weights
at their published configurations: one CFG denoiser step (batch 2) plus one decode of
AudioLDM-S (16 kHz mono, UNet + AutoencoderKL + HiFi-GAN) and of Stable Audio Open 1.0
(44.1 kHz stereo, DiT + Oobleck VAE, which diffusers always runs at 47 s), extrapolated to their
default step counts (50 and 100) and printed as ratios to ours. Both precisions are reported:
fp32, and bf16 weights (a speed ratio is fair only at the same precision).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import torch

SECONDS = 10.0


def timed(function, repeats: int = 2) -> float:
    function()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def cast(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    return module.bfloat16() if dtype == torch.bfloat16 else module.float()


# ------------------------------------------------------------------------------------ ours
def our_pipeline(checkpoint: Path | None):
    from latentaudio.codec import DEFAULT_MODEL
    from latentaudio.generation import load_pipeline

    folder = checkpoint or DEFAULT_MODEL
    if (folder / "model_index.json").is_file():
        return load_pipeline(folder)[0], f"trained model {folder.name}"
    from transformers import AutoModel, AutoTokenizer

    from latentaudio.conditioning.text import minilm_path
    from latentaudio.denoisers.dit import LatentDiT
    from latentaudio.diffusion.flow import SCHEDULERS
    from latentaudio.pipeline import LatentAudioPipeline
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    configs = Path(__file__).resolve().parents[1] / "configs"
    load = json.loads
    pipe = LatentAudioPipeline(
        vae=MelVAE(**load((configs / "vae" / "small.json").read_text())),
        vocoder=Vocoder(**load((configs / "vocoder" / "small.json").read_text())),
        denoiser=LatentDiT(**load((configs / "dit" / "small.json").read_text())),
        text_encoder=AutoModel.from_pretrained(minilm_path(), local_files_only=True),
        tokenizer=AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True),
        scheduler=SCHEDULERS["dpm++"]())
    return pipe, "random weights, default architecture (timing only)"


def our_stages(pipe, dtype: torch.dtype, steps: int = 12) -> dict:
    from latentaudio.conditioning.prompt import parse_prompt
    from latentaudio.diffusion.flow import sample
    from latentaudio.postprocess import master

    for module in (pipe.denoiser, pipe.vae, pipe.vocoder, pipe.text_encoder):
        cast(module, dtype)
    spec = parse_prompt("upbeat rock groove with distorted guitar, 120 bpm, E minor")
    spec.seconds = SECONDS
    samples = round(SECONDS * 44_100)
    frames = pipe.vae.latent_frames(pipe.codec.mel.config.num_frames(samples))
    noise = torch.randn(1, pipe.vae.config.latent_channels, frames, dtype=dtype)
    figures = {}
    with torch.no_grad():
        figures["text_encoding_s"] = timed(lambda: pipe.encode_conditioning([spec]))
        condition, negative = pipe.encode_conditioning([spec])

        def denoise():
            return sample(pipe.denoiser, noise, condition, negative, steps=steps,
                          guidance=4.0, scheduler="dpm++")

        figures["denoising_s"] = timed(denoise)
        latents = denoise().to(dtype)
        figures["vae_decode_s"] = timed(lambda: pipe.vae.decode(
            latents / pipe.vae.config.scaling_factor, frames=pipe.codec.mel.config.num_frames(
                samples)))
        log_mel = pipe.vae.decode(latents, frames=pipe.codec.mel.config.num_frames(samples))
        figures["mel_to_audio_s"] = timed(lambda: pipe.codec.vocode(log_mel, samples))
        audio = pipe.codec.vocode(log_mel, samples)[0].numpy()
        figures["postprocess_s"] = timed(lambda: master(audio, 44_100, samples))
    figures["total_s"] = sum(figures.values())
    figures["real_time_factor"] = SECONDS / figures["total_s"]
    for module in (pipe.denoiser, pipe.vae, pipe.vocoder, pipe.text_encoder):
        module.float()
    return figures


# --------------------------------------------------------------------------------- anchors
def audioldm_s(dtype: torch.dtype) -> dict:
    """AudioLDM-S (cvssp/audioldm-s-full-v2) architectures: 10 s at 16 kHz is a 1024 x 64 mel,
    latents 8 x 256 x 16."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    unet = cast(UNet2DConditionModel(
        sample_size=128, in_channels=8, out_channels=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                          "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                        "UpBlock2D"),
        block_out_channels=(128, 256, 384, 640), layers_per_block=2,
        cross_attention_dim=(128, 256, 384, 640), attention_head_dim=8,
        class_embed_type="simple_projection", projection_class_embeddings_input_dim=512,
        class_embeddings_concat=True).eval(), dtype)
    vae = cast(AutoencoderKL(in_channels=1, out_channels=1, latent_channels=8,
                             down_block_types=("DownEncoderBlock2D",) * 3,
                             up_block_types=("UpDecoderBlock2D",) * 3,
                             block_out_channels=(128, 256, 512), layers_per_block=2).eval(), dtype)
    vocoder = cast(SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=64, sampling_rate=16_000, upsample_initial_channel=1024,
        upsample_rates=[5, 4, 2, 2, 2], upsample_kernel_sizes=[16, 16, 8, 4, 4],
        resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5]] * 3,
        normalize_before=False)).eval(), dtype)
    latents = torch.randn(2, 8, 256, 16, dtype=dtype)
    text = torch.randn(2, 512, dtype=dtype)
    with torch.no_grad():
        step = timed(lambda: unet(latents, 500, encoder_hidden_states=None,
                                  class_labels=text).sample)
        decode = timed(lambda: vae.decode(latents[:1]).sample)
        mel = torch.randn(1, 1024, 64, dtype=dtype)
        vocode = timed(lambda: vocoder(mel))
    return {"step_s": step, "decode_s": decode + vocode, "steps": 50,
            "total_s": 50 * step + decode + vocode}


def stable_audio_open(dtype: torch.dtype) -> dict:
    """Stable Audio Open 1.0: DiT (24 layers, 1536 wide) + Oobleck VAE; diffusers' pipeline
    denoises and decodes the full 47 s window (1024 latent frames) whatever is requested."""
    from diffusers import AutoencoderOobleck, StableAudioDiTModel
    from diffusers.models.embeddings import get_1d_rotary_pos_embed

    dit = cast(StableAudioDiTModel().eval(), dtype)
    vae = cast(AutoencoderOobleck().eval(), dtype)
    frames = 1024
    latents = torch.randn(2, 64, frames, dtype=dtype)
    rotary = tuple(r.to(dtype) for r in get_1d_rotary_pos_embed(32, frames + 1, use_real=True,
                                                                 repeat_interleave_real=False))
    text = torch.randn(2, 130, 768, dtype=dtype)
    globals_ = torch.randn(2, 1, 1536, dtype=dtype)
    with torch.no_grad():
        step = timed(lambda: dit(latents, torch.tensor([0.5, 0.5]), encoder_hidden_states=text,
                                 global_hidden_states=globals_, rotary_embedding=rotary,
                                 return_dict=False), repeats=1)
        decode = timed(lambda: vae.decode(latents[:1]).sample, repeats=1)
    return {"step_s": step, "decode_s": decode, "steps": 100,
            "total_s": 100 * step + decode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/out/speed.json"))
    parser.add_argument("--skip-anchors", action="store_true")
    parser.add_argument("--steps", type=int, default=12,
                        help="our denoising steps (default: 12, the package's)")
    args = parser.parse_args()

    pipe, what = our_pipeline(args.checkpoint)
    results = {"ours_model": what, "machine": f"{platform.machine()}, torch "
               f"{torch.__version__}, {torch.get_num_threads()} threads"}
    precisions = (("fp32", torch.float32), ("bf16", torch.bfloat16))
    for name, dtype in precisions:
        results[f"ours_{name}"] = our_stages(pipe, dtype, args.steps)
    # Ours ran first, so the process peak so far is ours alone (import, load, both precisions).
    results["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not args.skip_anchors:
        for name, dtype in precisions:
            results[f"audioldm_s_{name}"] = audioldm_s(dtype)
            results[f"stable_audio_open_{name}"] = stable_audio_open(dtype)

    print(f"10 s stereo, {args.steps} steps (default 12); ours: {what}; {results['machine']}")
    for name in ("fp32", "bf16"):
        ours = results[f"ours_{name}"]
        print(f"\n[{name}] ours: " + ", ".join(f"{k} {v:.3f}" for k, v in ours.items()))
        for anchor in ("audioldm_s", "stable_audio_open"):
            if f"{anchor}_{name}" in results:
                row = results[f"{anchor}_{name}"]
                print(f"[{name}] {anchor}: step {row['step_s']:.3f} s x {row['steps']} + decode "
                      f"{row['decode_s']:.3f} s = {row['total_s']:.1f} s -> "
                      f"{row['total_s'] / ours['total_s']:.0f}x slower than ours")
    print(f"\npeak memory of ours {results['peak_memory_mb']:.0f} MB (process peak before the "
          "anchors were built)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
