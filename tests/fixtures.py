"""Tiny components shared by the tests (conftest.py makes ``pipe`` a fixture of them)."""

import torch

from latentaudio.diffusion.flow import SCHEDULERS
from latentaudio.pipeline import LatentAudioPipeline


def tiny_text_encoder():
    """MiniLM's real tokenizer (from its package) in front of a 1-layer, 16-wide random BERT."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from latentaudio.conditioning.text import minilm_path

    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=32)).eval()
    return model, tokenizer


def tiny_pipeline() -> LatentAudioPipeline:
    from latentaudio.denoisers.dit import LatentDiT
    from latentaudio.vae import MelVAE
    from latentaudio.vocoder import Vocoder

    torch.manual_seed(0)
    text_encoder, tokenizer = tiny_text_encoder()
    vae = MelVAE(latent_channels=4, hidden_channels=16, encoder_blocks=1, decoder_blocks=1)
    return LatentAudioPipeline(
        vae=vae, vocoder=Vocoder(hidden_channels=16, layers=1),
        denoiser=LatentDiT(latent_channels=4, layers=1, heads=2, key_value_heads=1,
                           head_dim=8, text_dim=16, cross_attention_dim=16, global_dim=16,
                           time_dim=16, music_grid=True, frame_rate=vae.latent_rate),
        text_encoder=text_encoder, tokenizer=tokenizer, scheduler=SCHEDULERS["dpm++"]())
