"""What each model learns: the mel-VAE (reconstruction + KL), the vocoder (spectral losses) and
the denoiser (rectified flow on latents)."""

from __future__ import annotations

import math
from functools import partial

import auraloss
import numpy as np
import torch
from torch import nn

from latentaudio.conditioning.condition import Conditioning
from latentaudio.conditioning.embedders import GlobalInputs, key_index
from latentaudio.conditioning.prompt import parse_prompt
from latentaudio.diffusion.flow import flow_errors, flow_loss
from latentaudio.mel import MelSpectrogram
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder


def _frame_mask(sample_mask: torch.Tensor, hop_length: int, frames: int) -> torch.Tensor:
    """``(B, samples)`` bool -> ``(B, frames)`` bool: a frame is real if its centre sample is."""
    centres = (torch.arange(frames, device=sample_mask.device) * hop_length).clamp(
        max=sample_mask.shape[-1] - 1)
    return sample_mask[:, centres]


class VAETask:
    """Masked L1 + L2 on the normalised log-mel, plus ``kl_weight`` x KL to N(0, 1).

    ``decoder_only``: the encoder is frozen (it is the trained one of ``--init``) and only the
    decoder learns, on posterior samples of the fixed latents: its latent space, and so every
    denoiser trained on it, stays valid. ``held_out`` (a dataset of fixed valid crops) gives the
    held-out log-mel L1 through the posterior mean, as generation decodes.

    With a ``discriminator`` (:class:`latentaudio.vae.discriminator.MelDiscriminator`) the
    decoder also gets the least-squares adversarial and feature-matching losses on the
    normalised log-mel (HiFi-GAN's balance: ``mel_weight`` x reconstruction + adversarial +
    ``feature_weight`` x matching), which reward the sharp harmonics a mean-seeking loss smears;
    the loop trains the discriminator in turn through :meth:`discriminator_loss`.

    ``chroma_weight`` > 0 adds that much of :func:`latentaudio.vae.chroma.chroma_loss`: the
    pitch classes of the decoded mel, as the hybrid decoder will hear them, against the true
    mel's (the key lives in ratios between neighbouring mel bands that the L1 barely weighs)."""

    def __init__(self, model: MelVAE, mel: MelSpectrogram, kl_weight: float = 5e-4,
                 decoder_only: bool = False, held_out=None,
                 discriminator: nn.Module | None = None, mel_weight: float = 1.0,
                 feature_weight: float = 2.0, chroma_weight: float = 0.0) -> None:
        self.model = model
        self.mel = mel
        self.kl_weight = kl_weight
        self.decoder_only = decoder_only
        self.held_out = held_out
        self.discriminator = discriminator
        self.mel_weight = mel_weight
        self.feature_weight = feature_weight
        self.chroma_weight = chroma_weight
        self._chroma = None  # built on first use, by the loss or by validation
        if decoder_only:
            model.encoder.requires_grad_(False)
            self.frozen_base = True  # the loop optimises and averages the decoder alone

    @torch.no_grad()
    def prepare(self, batch: dict) -> dict:
        log_mel = self.mel(batch["audio"])  # (B, 2, n_mels, frames)
        mask = _frame_mask(batch["mask"], self.mel.config.hop_length, log_mel.shape[-1])
        return {"log_mel": log_mel, "mask": mask}

    def _errors(self, recon: torch.Tensor, log_mel: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked mean L1 and L2 of the normalised log-mel error."""
        error = (recon.float() - log_mel) / self.model.config.mel_std  # (B, 2, n_mels, frames)
        weight = mask[:, None, None, :].float()
        count = weight.sum() * error.shape[1] * error.shape[2]
        return (error.abs() * weight).sum() / count, (error.pow(2) * weight).sum() / count

    def loss(self, model: nn.Module, inputs: dict) -> tuple[torch.Tensor, dict]:
        log_mel, mask = inputs["log_mel"], inputs["mask"]
        if self.decoder_only:
            vae = getattr(model, "module", model)  # under a distributed wrapper, the model
            with torch.no_grad():
                latents = vae.encode(log_mel).sample()
            recon = vae.decode(latents, frames=log_mel.shape[-1])
            l1, l2 = self._errors(recon, log_mel, mask)
            loss = self.mel_weight * (l1 + l2)
            values = {"l1": l1.detach()}
        else:
            recon, posterior = model(log_mel)
            l1, l2 = self._errors(recon, log_mel, mask)
            kl = posterior.kl().float().mean()
            loss = self.mel_weight * (l1 + l2) + self.kl_weight * kl
            values = {"l1": l1.detach(), "kl": kl.detach()}
        if self.chroma_weight > 0:
            from latentaudio.vae.chroma import chroma_loss

            pitch = chroma_loss(self.chroma(recon.device), recon, log_mel, mask)
            loss = loss + self.chroma_weight * pitch
            values["chroma"] = pitch.detach()
        if self.discriminator is not None:
            from latentaudio.vocoder.discriminators import generator_losses

            c = self.model.config
            real = (log_mel - c.mel_mean) / c.mel_std
            # Padding frames are the real ones in both, so neither side learns from them.
            fake = torch.where(mask[:, None, None, :], (recon.float() - c.mel_mean) / c.mel_std,
                               real)
            inputs["real"], inputs["generated"] = real, fake.detach()  # the discriminator's turn
            self.discriminator.requires_grad_(False)  # its gradients come in its own turn
            try:
                with torch.no_grad():
                    judged_real = self.discriminator(real)
                adversarial, matching = generator_losses(judged_real, self.discriminator(fake))
            finally:
                self.discriminator.requires_grad_(True)
            loss = loss + adversarial + self.feature_weight * matching
            values |= {"g_adv": adversarial.detach(), "g_fm": matching.detach()}
        return loss, {"loss": loss.detach()} | values | {
            "log_mel_l1": (l1 * self.model.config.mel_std).detach()}

    def chroma(self, device: torch.device) -> nn.Module:
        """The :class:`latentaudio.vae.chroma.MelChroma` of this task's mel, made once."""
        if self._chroma is None:
            from latentaudio.vae.chroma import MelChroma

            self._chroma = MelChroma(self.mel)
        self._chroma = self._chroma.to(device)
        return self._chroma

    def discriminator_loss(self, discriminator: nn.Module, inputs: dict
                           ) -> tuple[torch.Tensor, dict]:
        """The discriminator's turn, on the real mels and the decoder's last output."""
        from latentaudio.vocoder.discriminators import discriminator_loss

        loss = discriminator_loss(discriminator(inputs["real"]),
                                  discriminator(inputs["generated"]))
        return loss, {"d_loss": loss.detach()}

    @torch.no_grad()
    def validate(self, model: nn.Module, batch_size: int = 16) -> dict:
        """The held-out log-mel L1 (dB-like units of the log-mel) and chroma distance
        (:func:`latentaudio.vae.chroma.chroma_loss`) through the posterior mean."""
        if self.held_out is None or len(self.held_out) == 0:
            return {}
        from torch.utils.data import DataLoader

        from latentaudio.vae.chroma import chroma_loss

        total = pitch = count = 0.0
        for batch in DataLoader(self.held_out, batch_size=batch_size, shuffle=False):
            inputs = self.prepare(batch)
            log_mel, mask = inputs["log_mel"], inputs["mask"]
            recon = model.decode(model.encode(log_mel).mean, frames=log_mel.shape[-1])
            l1, _ = self._errors(recon, log_mel, mask)
            rows = float(mask.sum())
            total += float(l1) * rows
            pitch += float(chroma_loss(self.chroma(recon.device), recon, log_mel, mask)) * rows
            count += rows
        count = max(count, 1.0)
        return {"held_out_log_mel_l1": total / count * self.model.config.mel_std,
                "held_out_chroma": pitch / count}


class VocoderTask:
    """Log-mel L1 of the output against the input mel, plus multi-resolution STFT loss
    (Yamamoto et al. 2020, via auraloss). Stereo crops are split into mono items.

    With a ``discriminator`` (:class:`latentaudio.vocoder.discriminators.VocoderDiscriminator`)
    the generator also gets HiFi-GAN's least-squares adversarial and feature-matching losses
    (Kong et al. 2020: L_G = L_adv + 2 L_fm + 45 L_mel, the mel term here being
    ``mel_weight`` x (log-mel L1 + MR-STFT)), and the loop trains the discriminator in turn
    through :meth:`discriminator_loss`. Spectral losses alone leave the phase free, and a phase
    that is only consistent frame by frame puts a comb of tones on the hop rate; the
    discriminators hear that comb.
    """

    def __init__(self, model: Vocoder, mel: MelSpectrogram, mel_weight: float = 1.0,
                 discriminator: nn.Module | None = None, feature_weight: float = 2.0,
                 validation: list[torch.Tensor] | None = None) -> None:
        self.model = model
        self.validation = validation or []  # held-out (1, 2, samples) clips for validate()
        self.mel = mel
        self.mel_weight = mel_weight
        self.discriminator = discriminator
        self.feature_weight = feature_weight
        self.stft_loss = auraloss.freq.MultiResolutionSTFTLoss(
            fft_sizes=[512, 1024, 2048, 4096], hop_sizes=[128, 256, 512, 1024],
            win_lengths=[512, 1024, 2048, 4096])

    @torch.no_grad()
    def prepare(self, batch: dict) -> dict:
        audio = batch["audio"].reshape(-1, 1, batch["audio"].shape[-1])  # (2B, 1, samples)
        return {"audio": audio, "log_mel": self.mel(audio)}

    def loss(self, model: nn.Module, inputs: dict) -> tuple[torch.Tensor, dict]:
        audio, log_mel = inputs["audio"], inputs["log_mel"]
        generated = model(log_mel, length=audio.shape[-1])
        with torch.autocast(device_type=generated.device.type, enabled=False):
            generated = generated.float()
            mel_l1 = (self.mel(generated) - log_mel).abs().mean()
            stft = self.stft_loss(generated, audio)
        loss = self.mel_weight * (mel_l1 + stft)
        values = {"mel_l1": mel_l1.detach(), "mr_stft": stft.detach()}
        if self.discriminator is not None:
            from latentaudio.vocoder.discriminators import generator_losses

            inputs["generated"] = generated.detach()  # for the discriminator's turn
            self.discriminator.requires_grad_(False)  # its gradients come in its own turn
            try:
                with torch.no_grad():
                    real = self.discriminator(audio)
                adversarial, matching = generator_losses(real, self.discriminator(generated))
            finally:
                self.discriminator.requires_grad_(True)
            loss = loss + adversarial + self.feature_weight * matching
            values |= {"g_adv": adversarial.detach(), "g_fm": matching.detach()}
        return loss, {"loss": loss.detach()} | values

    @torch.no_grad()
    def validate(self, model: nn.Module) -> dict:
        """MR-STFT and the hop comb (:func:`hop_comb_prominence`, as a ratio to the original
        clip's) of the vocoded validation clips: the figures vocoder v2 must improve."""
        from latentaudio.evaluation.spectral import hop_comb_prominence

        stft, comb = [], []
        for audio in self.validation:
            output = model(self.mel(audio), length=audio.shape[-1]).float()
            stft.append(float(self.stft_loss(output.reshape(-1, 1, output.shape[-1]),
                                             audio.reshape(-1, 1, audio.shape[-1]))))
            comb.append(hop_comb_prominence(output[0].numpy())
                        / hop_comb_prominence(audio[0].numpy()))
        if not stft:
            return {}
        return {"mr_stft": sum(stft) / len(stft), "comb_ratio_median": float(np.median(comb)),
                "comb_ratio_max": max(comb)}

    def discriminator_loss(self, discriminator: nn.Module, inputs: dict
                           ) -> tuple[torch.Tensor, dict]:
        """The discriminator's turn, on the real crops and the generator's last output."""
        from latentaudio.vocoder.discriminators import discriminator_loss

        loss = discriminator_loss(discriminator(inputs["audio"]),
                                  discriminator(inputs["generated"]))
        return loss, {"d_loss": loss.detach()}


@torch.no_grad()
def caption_condition(batch: dict, text_encoder) -> Conditioning:
    """A batch's captions, timing and music labels as a :class:`Conditioning`."""
    specs = [parse_prompt(caption) for caption in batch["caption"]]
    text = text_encoder([spec.caption for spec in specs])
    # Labels from the manifest are exact; fall back on what the caption itself says.
    bpm = torch.tensor([b if b == b else (s.bpm if s.bpm is not None else math.nan)
                        for b, s in zip(batch["bpm"].tolist(), specs, strict=True)])
    keys = torch.tensor([key_index(k or s.key) for k, s in zip(batch["key"], specs,
                                                                 strict=True)])
    return Conditioning(text.states, text.mask, text.pooled, GlobalInputs(
        grid_start(batch["seconds_start"].float(), bpm.float(), batch.get("beat_offset")),
        batch["seconds_total"].float(), bpm.float(), keys))


def grid_start(seconds_start: torch.Tensor, bpm: torch.Tensor,
               beat_offset: torch.Tensor | None) -> torch.Tensor:
    """Crop starts moved so that the beat grid (which counts beats from second 0,
    :func:`latentaudio.conditioning.grid.beat_grid`) lies on a clip whose first beat is
    ``beat_offset`` seconds in: later by ``-beat_offset`` modulo a beat, so by less than one
    beat (a small shift of the timing label too, which GlobalInputs shares)."""
    if beat_offset is None:
        return seconds_start
    period = 60.0 / torch.where(torch.isfinite(bpm) & (bpm > 0), bpm, torch.ones_like(bpm) * 60)
    shift = torch.remainder(-beat_offset.float(), period)
    return seconds_start + torch.where(torch.isfinite(bpm), shift, torch.zeros_like(shift))


class DiffusionTask:
    """Rectified-flow loss on VAE latents, conditioned on caption text, timing, tempo and key,
    and, for a denoiser built with them, on melody chroma and a reference-clip style vector.

    Dropout teaches each branch the model needs at inference: melody and style are each present
    for ``reference_rate`` of items; ``style_only`` of the items with a style lose their text (so
    "sounds like this clip" works without words); ``music_dropout`` of the items lose their tempo,
    and as many (drawn apart) their key, so that each has its own guidance scale
    (:func:`latentaudio.diffusion.guidance.guided`); then ``dropout`` of all items lose
    everything, the unconditional branch classifier-free guidance needs.
    """

    def __init__(self, model, text_encoder, dropout: float = 0.1, seed: int = 0,
                 reference_rate: float = 0.5, style_only: float = 0.3,
                 music_dropout: float = 0.1, held_out=None) -> None:
        self.model = model
        self.held_out = held_out  # a dataset of fixed held-out crops for validate(), or None
        self.text_encoder = text_encoder
        self.dropout = dropout
        self.music_dropout = music_dropout
        self.reference_rate = reference_rate
        self.style_only = style_only
        self.generator = torch.Generator().manual_seed(seed)

    def _present(self, count: int, rate: float) -> torch.Tensor:
        return torch.rand(count, generator=self.generator) < rate

    @torch.no_grad()
    def prepare(self, batch: dict) -> dict:
        condition = caption_condition(batch, self.text_encoder)
        count = len(condition)
        melody = style = None
        if "melody" in batch:  # (B, 12, frames)
            present = self._present(count, self.reference_rate)
            melody = batch["melody"].float() * present[:, None, None]
        if "style" in batch:  # (B, 512)
            style = batch["style"].float() * self._present(count, self.reference_rate)[:, None]
        condition.melody, condition.style = melody, style
        if style is not None:
            words_only = ~(style.any(dim=1) & self._present(count, self.style_only))
            condition = condition.where(words_only, condition.without_text())
        condition = condition.with_music(tempo=~self._present(count, self.music_dropout),
                                         key=~self._present(count, self.music_dropout))
        keep = ~self._present(count, self.dropout)
        return {"latents": batch["features"], "mask": batch["mask"],
                "condition": condition.drop(keep)}

    def loss(self, model: nn.Module, inputs: dict) -> tuple[torch.Tensor, dict]:
        mask = inputs["mask"]

        def denoise(x, time, condition):
            return model(x, time, condition, latent_mask=mask)

        loss = flow_loss(denoise, inputs["latents"], inputs["condition"], mask,
                         generator=self.generator)
        return loss, {"loss": loss.detach()}

    @torch.no_grad()
    def validate(self, model: nn.Module, draws: int = 2, batch_size: int = 16) -> dict:
        """The held-out loss: the flow loss on fixed crops of held-out clips, with every label
        given (text, timing, tempo, key; no reference inputs, as a text prompt has none), the
        same noise and flow times at every checkpoint, so the curve compares across steps."""
        if self.held_out is None or len(self.held_out) == 0:
            return {}
        from torch.utils.data import DataLoader

        generator = torch.Generator().manual_seed(1234)
        errors = counts = 0.0
        for batch in DataLoader(self.held_out, batch_size=batch_size, shuffle=False):
            condition = caption_condition(batch, self.text_encoder)
            mask = batch["mask"]
            latents = batch["features"].float()
            for _ in range(draws):
                error, count, _ = flow_errors(
                    partial(model, latent_mask=mask), latents, condition, mask, generator)
                errors += float(error.sum())
                counts += float(count.sum())
        return {"held_out_loss": errors / max(counts, 1.0)}


class CoarseTask:
    """Next-token cross-entropy of the first-level codec tokens, conditioned on the caption,
    timing, tempo, key and (for songs) the lyric track, with 10% conditioning dropout for
    classifier-free guidance; a model with the music grid also loses its tempo and key apart
    (``music_dropout`` each), as the DiT does."""

    def __init__(self, model, text_encoder, dropout: float = 0.1, seed: int = 0,
                 music_dropout: float = 0.1, held_out=None) -> None:
        self.model = model
        self.held_out = held_out  # a dataset of fixed held-out crops for validate(), or None
        self.text_encoder = text_encoder
        self.dropout = dropout
        self.music_dropout = music_dropout if getattr(model.config, "music_grid", False) else 0.0
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def prepare(self, batch: dict) -> dict:
        from latentaudio.tokens.lm import LMInputs

        condition = caption_condition(batch, self.text_encoder)
        if self.music_dropout:  # tempo and key dropped apart, as the DiT's, with the grid
            condition = condition.with_music(
                tempo=torch.rand(len(condition), generator=self.generator) >= self.music_dropout,
                key=torch.rand(len(condition), generator=self.generator) >= self.music_dropout)
        lyrics = batch.get("lyrics", torch.zeros(len(condition), 0, dtype=torch.long))
        inputs = LMInputs(condition, lyrics, batch.get("sung"))
        keep = torch.rand(len(condition), generator=self.generator) >= self.dropout
        inputs = inputs.where(keep, inputs.null_like())
        return {"codes": self._codes(batch), "mask": batch["mask"], "inputs": inputs}

    def _codes(self, batch: dict) -> torch.Tensor:
        """The first level ``(B, T)``, or with voice the track codes ``(B, S, T)``."""
        if getattr(self.model.config, "vocal_levels", 0):
            return batch["features"].long()
        return batch["features"][:, 0].long()

    def loss(self, model: nn.Module, inputs: dict) -> tuple[torch.Tensor, dict]:
        from latentaudio.tokens.lm import coarse_loss

        loss = coarse_loss(model, inputs["codes"], inputs["inputs"], inputs["mask"])
        return loss, {"loss": loss.detach()}

    @torch.no_grad()
    def validate(self, model: nn.Module, batch_size: int = 8) -> dict:
        """Teacher-forced cross-entropy on fixed held-out crops, every label given; separately
        for songs (items with lyrics) and the rest, as the song benchmark reads them; with voice
        the mean over the streams, and the voice's own (``held_out_voice_songs``)."""
        if self.held_out is None or len(self.held_out) == 0:
            return {}
        from torch.utils.data import DataLoader

        from latentaudio.tokens.lm import LMInputs, coarse_losses

        sums = HeldOutSums()
        for batch in DataLoader(self.held_out, batch_size=batch_size, shuffle=False):
            condition = caption_condition(batch, self.text_encoder)
            lyrics = batch.get("lyrics", torch.zeros(len(condition), 0, dtype=torch.long))
            losses = coarse_losses(model, self._codes(batch),
                                   LMInputs(condition, lyrics, batch.get("sung")))
            sums.add(losses, batch["mask"], lyrics)
        return sums.means()


class HeldOutSums:
    """The coarse model's held-out figures, summed batch by batch: mean cross-entropy per real
    frame of songs (items with lyrics) and of the rest, over every stream, and of the songs'
    voice streams alone (``held_out_voice_songs``). ``scripts/gpu/train_coarse.py`` reads the
    same figures."""

    def __init__(self) -> None:
        self.totals = {"loss_songs": [0.0, 0.0], "loss_other": [0.0, 0.0],
                       "voice_songs": [0.0, 0.0]}

    def add(self, losses: torch.Tensor, mask: torch.Tensor, lyrics: torch.Tensor) -> None:
        """A batch's :func:`~latentaudio.tokens.lm.coarse_losses` ``(B, T)`` or ``(B, S, T)``,
        its real frames ``mask`` ``(B, T)`` and lyric ids ``(B, L)``."""
        losses, mask = losses.float(), mask.float()
        voice = None
        if losses.ndim == 3:
            losses, voice = losses.mean(dim=1), losses[:, 1:].mean(dim=1) * mask
        losses = losses * mask
        sung = (lyrics > 0).any(dim=1)
        for name, rows in (("loss_songs", sung), ("loss_other", ~sung)):
            self.totals[name][0] += float(losses[rows].sum())
            self.totals[name][1] += float(mask[rows].sum())
        if voice is not None:
            self.totals["voice_songs"][0] += float(voice[sung].sum())
            self.totals["voice_songs"][1] += float(mask[sung].sum())

    def means(self) -> dict[str, float]:
        return {f"held_out_{name}": total / count
                for name, (total, count) in self.totals.items() if count}


class FineTask:
    """Cross-entropy of one random residual level (2..L) per item given the true levels below
    (:class:`latentaudio.tokens.fine.FineModel`)."""

    def __init__(self, model, seed: int = 0) -> None:
        self.model = model
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def prepare(self, batch: dict) -> dict:
        return {"codes": batch["features"].long(), "mask": batch["mask"]}

    def loss(self, model: nn.Module, inputs: dict) -> tuple[torch.Tensor, dict]:
        from latentaudio.tokens.fine import fine_loss

        loss = fine_loss(model, inputs["codes"], inputs["mask"], self.generator)
        return loss, {"loss": loss.detach()}
