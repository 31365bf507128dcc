"""The training loop: a tiny model learns, state is saved, a stopped run resumes where it was."""

import json

import numpy as np
import pytest
import torch

from latentaudio.audio import save_audio
from latentaudio.data.dataset import ClipDataset
from latentaudio.data.manifest import Clip
from latentaudio.mel import MelSpectrogram
from latentaudio.train.loop import TrainConfig, latest_checkpoint, train
from latentaudio.train.tasks import VAETask, VocoderTask
from latentaudio.vae import MelVAE
from latentaudio.vocoder import Vocoder


@pytest.fixture(scope="module")
def tones(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tones")
    t = np.arange(44_100) / 44_100
    clips = []
    for i, freq in enumerate((220, 330, 440, 550, 660, 880)):
        audio = 0.4 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
        save_audio(folder / f"{i}.flac", np.stack([audio, audio[::-1]]).astype(np.float32))
        clips.append(Clip(str(i), f"{i}.flac", f"tone {freq}", [], "t", "CC0-1.0", 1.0, "train"))
    return clips, folder


def _losses(run_dir):
    return [json.loads(line)["loss"] for line in (run_dir / "log.jsonl").read_text().splitlines()]


def _watch_first_discriminator_turn(task, expected: dict) -> list:
    """A list that gets, at the task's first discriminator turn, whether the discriminator
    then holds the ``expected`` state (i.e. a resumed run restored it)."""
    real_turn, seen = task.discriminator_loss, []

    def check_first_turn(discriminator, inputs):
        if not seen:
            seen.append(all(torch.equal(expected[k], v)
                            for k, v in discriminator.state_dict().items()))
        return real_turn(discriminator, inputs)

    task.discriminator_loss = check_first_turn
    return seen


def _vae_task():
    torch.manual_seed(0)
    return VAETask(MelVAE(latent_channels=8, hidden_channels=32, encoder_blocks=1,
                          decoder_blocks=1), MelSpectrogram())


def test_tiny_vae_loss_falls(tones, tmp_path):
    clips, root = tones
    config = TrainConfig(tmp_path / "run", max_steps=40, batch_size=3, learning_rate=2e-3,
                         warmup_steps=2, log_every=5)
    final = train(_vae_task(), ClipDataset(clips, root, seconds=0.5), config, progress=False)
    losses = _losses(tmp_path / "run")
    assert np.mean(losses[-2:]) < 0.7 * np.mean(losses[:2])
    assert (final / "config.json").is_file()
    assert MelVAE.from_pretrained(final).config.latent_channels == 8


def test_a_decoder_only_run_keeps_the_latents_and_logs_a_held_out_l1(tones, tmp_path):
    clips, root = tones
    task = _vae_task()
    encoder = {k: v.clone() for k, v in task.model.encoder.state_dict().items()}
    decoder = {k: v.clone() for k, v in task.model.decoder.state_dict().items()}
    held_out = ClipDataset(clips[:2], root, seconds=0.5, random_crop=False)
    task = VAETask(task.model, MelSpectrogram(), decoder_only=True, held_out=held_out)
    config = TrainConfig(tmp_path / "run", max_steps=20, batch_size=3, learning_rate=2e-3,
                         warmup_steps=2, log_every=5)
    final = train(task, ClipDataset(clips, root, seconds=0.5), config, progress=False)
    trained = MelVAE.from_pretrained(final)
    # The exported encoder is the one the run started from: the same latents for any audio.
    for name, value in trained.encoder.state_dict().items():
        assert torch.equal(value, encoder[name]), name
    assert any(not torch.equal(value, decoder[name])
               for name, value in trained.decoder.state_dict().items())
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text()
               .splitlines()]
    for figure in ("held_out_log_mel_l1", "held_out_chroma"):
        curve = [r["validation"][figure] for r in records if "validation" in r]
        assert curve and all(np.isfinite(curve)) and curve[-1] > 0
    assert all("kl" not in r for r in records if "loss" in r)


def test_the_chroma_loss_is_logged_and_learned_by_a_decoder_only_run(tones, tmp_path):
    clips, root = tones
    task = VAETask(_vae_task().model, MelSpectrogram(), decoder_only=True, chroma_weight=1.0)
    config = TrainConfig(tmp_path / "run", max_steps=40, batch_size=3, learning_rate=2e-3,
                         warmup_steps=2, log_every=5)
    train(task, ClipDataset(clips, root, seconds=0.5), config, progress=False)
    chroma = [json.loads(line)["chroma"] for line in (tmp_path / "run" / "log.jsonl")
              .read_text().splitlines() if '"chroma"' in line]
    assert len(chroma) >= 4 and np.all(np.isfinite(chroma))
    assert np.mean(chroma[-2:]) < 0.8 * np.mean(chroma[:2])


def test_an_adversarial_decoder_run_trains_both_sides_and_resumes_them(tones, tmp_path):
    from latentaudio.vae.discriminator import MelDiscriminator

    clips, root = tones

    def task():
        torch.manual_seed(0)
        return VAETask(_vae_task().model, MelSpectrogram(), decoder_only=True,
                       discriminator=MelDiscriminator(channels=8), mel_weight=45.0)

    first = task()
    start = {k: v.clone() for k, v in first.discriminator.state_dict().items()}
    config = TrainConfig(tmp_path / "run", max_steps=4, batch_size=3, learning_rate=2e-3,
                         warmup_steps=1, log_every=1)
    train(first, ClipDataset(clips, root, seconds=0.5), config, progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text()
               .splitlines() if '"loss"' in line]
    assert all(np.isfinite([r["g_adv"], r["g_fm"], r["d_loss"]]).all() for r in records)
    trained = {k: v.clone() for k, v in first.discriminator.state_dict().items()}
    assert any(not torch.equal(trained[k], start[k]) for k in start)
    # A longer run resumes the discriminator where the first one left it.
    resumed = task()
    seen = _watch_first_discriminator_turn(resumed, trained)
    config.max_steps = 5
    train(resumed, ClipDataset(clips, root, seconds=0.5), config, progress=False)
    assert seen == [True]


def test_tiny_vocoder_loss_falls(tones, tmp_path):
    clips, root = tones
    torch.manual_seed(0)
    task = VocoderTask(Vocoder(hidden_channels=32, layers=1), MelSpectrogram())
    config = TrainConfig(tmp_path / "run", max_steps=30, batch_size=3, learning_rate=2e-3,
                         warmup_steps=2, log_every=5)
    train(task, ClipDataset(clips, root, seconds=0.3), config, progress=False)
    losses = _losses(tmp_path / "run")
    assert losses[-1] < 0.8 * losses[0]


def test_adversarial_vocoder_trains_both_sides_and_resumes_them(tones, tmp_path):
    from latentaudio.vocoder.discriminators import VocoderDiscriminator

    clips, root = tones
    data = ClipDataset(clips, root, seconds=0.3)
    validation = [torch.from_numpy(np.stack([np.sin(2 * np.pi * 440 * np.arange(22_050) / 44_100)]
                                            * 2).astype(np.float32))[None] * 0.3]

    def task():
        torch.manual_seed(0)
        discriminator = VocoderDiscriminator(periods=(2, 3), resolutions=((512, 128),),
                                             period_channels=(4, 8), resolution_channels=4)
        return VocoderTask(Vocoder(hidden_channels=16, layers=1, phase="increment"),
                           MelSpectrogram(), mel_weight=15.0, discriminator=discriminator,
                           validation=validation)

    first = task()
    before = [p.detach().clone() for p in first.discriminator.parameters()]
    config = TrainConfig(tmp_path / "run", max_steps=4, batch_size=2, log_every=1,
                         warmup_steps=1, learning_rate=1e-3)
    train(first, data, config, progress=False)
    assert any(not torch.equal(a, b) for a, b in zip(before, first.discriminator.parameters(),
                                                     strict=True))
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text()
               .splitlines()]
    steps = [r for r in records if "loss" in r]
    assert all({"g_adv", "g_fm", "d_loss", "mel_l1", "mr_stft"} <= set(r) for r in steps)
    validated = [r["validation"] for r in records if "validation" in r]
    assert validated and validated[-1]["comb_ratio_median"] > 0

    # A longer run resumes the discriminator too: its weights continue from the saved ones.
    resumed = task()
    config.max_steps = 5
    trained = {k: v.clone() for k, v in first.discriminator.state_dict().items()}
    seen = _watch_first_discriminator_turn(resumed, trained)
    train(resumed, data, config, progress=False)
    assert seen == [True]


def test_stopped_run_resumes_from_its_last_state(tones, tmp_path):
    clips, root = tones
    data = ClipDataset(clips, root, seconds=0.3)
    config = TrainConfig(tmp_path / "run", max_steps=10, batch_size=2, log_every=1,
                         warmup_steps=1)
    task = _vae_task()
    real_loss = task.loss
    calls = []

    def stop_at_step_7(model, inputs):
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt
        return real_loss(model, inputs)

    task.loss = stop_at_step_7
    with pytest.raises(KeyboardInterrupt, match="stopped at step 6"):
        train(task, data, config, progress=False)
    assert latest_checkpoint(tmp_path / "run").name == "step-00000006"
    assert (tmp_path / "run" / "ema" / "config.json").is_file()  # usable before the run ends

    resumed = _vae_task()
    train(resumed, data, config, progress=False)
    steps = [json.loads(line)["step"] for line in
             (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 11))  # 1-6, then 7-10 after the resume: nothing repeated
    assert latest_checkpoint(tmp_path / "run").name == "step-00000010"


def test_calibrated_latents_have_unit_variance(tones):
    from latentaudio.train.calibrate import latent_scaling_factor

    clips, root = tones
    torch.manual_seed(0)
    vae = MelVAE(latent_channels=8, hidden_channels=16, encoder_blocks=1, decoder_blocks=1)
    factor = latent_scaling_factor(vae, clips, root, progress=False)
    vae.register_to_config(scaling_factor=factor)
    from latentaudio.audio import load_audio
    from latentaudio.codec import LatentCodec

    codec = LatentCodec(vae)
    latents = torch.cat([codec.encode(torch.from_numpy(load_audio(c.resolve(root)))[None])
                         for c in clips], dim=-1)
    assert float(latents.std()) == pytest.approx(1.0, rel=0.05)


def test_fixed_parameters_stay_in_the_optimiser_so_older_runs_resume(tones, tmp_path):
    """The DiT has a parameter that never trains (its Fourier time features). A full run keeps
    it in the optimiser's group and the EMA, as runs always have, so their checkpoints resume;
    only a ``frozen_base`` task (LoRA) leaves frozen parameters out."""
    clips, root = tones
    data = ClipDataset(clips, root, seconds=0.3)
    config = TrainConfig(tmp_path / "run", max_steps=2, batch_size=2, warmup_steps=1)
    task = _vae_task()
    fixed = next(task.model.parameters())
    fixed.requires_grad_(False)
    train(task, data, config, progress=False)
    state = torch.load(latest_checkpoint(tmp_path / "run") / "optimizer.bin",
                       weights_only=False)
    assert len(state["param_groups"][0]["params"]) == len(list(task.model.parameters()))
    resumed = _vae_task()
    next(resumed.model.parameters()).requires_grad_(False)
    train(resumed, data, TrainConfig(tmp_path / "run", max_steps=3, batch_size=2,
                                     warmup_steps=1), progress=False)
    assert latest_checkpoint(tmp_path / "run").name == "step-00000003"


def _held_out_items(count=4, frames=12):
    generator = torch.Generator().manual_seed(3)
    return [{"features": torch.randn(8, frames, generator=generator),
             "mask": torch.arange(frames) < frames - i, "caption": f"a tone, {100 + i} bpm",
             "seconds_start": 0.0, "seconds_total": 2.0, "bpm": float(100 + i), "key": "A minor"}
            for i in range(count)]


def test_denoiser_runs_log_a_held_out_loss_that_compares_across_checkpoints(tmp_path):
    """The held-out loss uses the same noise and flow times every time, so two calls on the
    same weights agree exactly, and the loop logs it at each checkpoint."""
    from latentaudio.conditioning.text import build_text_encoder
    from latentaudio.denoisers import LatentDiT
    from latentaudio.train.tasks import DiffusionTask

    torch.manual_seed(0)
    model = LatentDiT(latent_channels=8, layers=1, heads=2, key_value_heads=1, head_dim=8,
                      text_dim=16, cross_attention_dim=16, global_dim=16, time_dim=16,
                      music_grid=True, frame_rate=6.0)
    items = _held_out_items()
    task = DiffusionTask(model, build_text_encoder("tiny"), held_out=items)
    first = task.validate(model.eval())
    assert first == task.validate(model) and 0 < first["held_out_loss"] < 10
    config = TrainConfig(tmp_path / "run", max_steps=3, batch_size=2, warmup_steps=1,
                         mixed_precision="no")
    train(task, items, config, progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text()
               .splitlines()]
    logged = [r["validation"]["held_out_loss"] for r in records if "validation" in r]
    assert logged and logged[-1] != first["held_out_loss"]  # the trained weights, measured
    assert DiffusionTask(model, build_text_encoder("tiny")).validate(model) == {}


def test_coarse_runs_log_held_out_losses_for_songs_and_the_rest():
    from latentaudio.conditioning.text import build_text_encoder
    from latentaudio.tokens.lm import CoarseLM
    from latentaudio.train.tasks import CoarseTask

    torch.manual_seed(0)
    model = CoarseLM(codebook_size=8, layers=1, heads=2, width=16, max_positions=128,
                     text_dim=16, music_grid=True, frame_rate=6.0).eval()
    items = _held_out_items()
    for item, sung in zip(items, (True, False, True, False), strict=True):
        item["features"] = torch.randint(0, 8, (2, 12))
        item["lyrics"] = torch.tensor([5, 6, 7, 0]) if sung else torch.zeros(4, dtype=torch.long)
    task = CoarseTask(model, build_text_encoder("tiny"), held_out=items)
    figures = task.validate(model)
    assert set(figures) == {"held_out_loss_songs", "held_out_loss_other"}
    assert figures == task.validate(model)  # no randomness: comparable across checkpoints
    assert all(1.0 < value < 4.0 for value in figures.values())  # near ln 8 untrained


def test_a_deepened_dit_starts_as_the_model_it_grew_from(tmp_path):
    from latentaudio.conditioning.condition import Conditioning
    from latentaudio.conditioning.embedders import GlobalInputs
    from latentaudio.denoisers.dit import LatentDiT, deepen_state
    from latentaudio.train.runs import load_init

    assert deepen_state({}, 6, 9)[1] == [2, 5, 8]  # old blocks at 0 1 3 4 6 7
    assert deepen_state({}, 6, 12)[1] == [1, 3, 5, 7, 9, 11]
    size = dict(latent_channels=4, heads=2, key_value_heads=1, head_dim=8, text_dim=16,
                cross_attention_dim=16, global_dim=16, time_dim=16)
    torch.manual_seed(0)
    shallow = LatentDiT(layers=2, **size).eval()
    for parameter in shallow.parameters():  # trained-looking weights: no zeros anywhere
        parameter.data.normal_(std=0.2)
    shallow.save_pretrained(tmp_path / "shallow")
    deep = LatentDiT(layers=3, **size).eval()
    load_init(deep, tmp_path / "shallow", grow_layers=3)
    x, time = torch.randn(2, 4, 20), torch.full((2,), 0.3)
    condition = Conditioning(torch.randn(2, 5, 16), torch.ones(2, 5, dtype=torch.bool),
                             torch.randn(2, 16),
                             GlobalInputs(torch.zeros(2), torch.full((2,), 4.0),
                                          torch.full((2,), float("nan")),
                                          torch.full((2,), 24)))
    with torch.no_grad():
        torch.testing.assert_close(deep(x, time, condition), shallow(x, time, condition))
    # The new block (position 2) learns: its inner weights are random, not zero.
    assert deep.dit.transformer_blocks[2].attn1.to_q.weight.abs().sum() > 0
    assert deep.dit.transformer_blocks[2].ff.net[-1].weight.abs().sum() == 0
