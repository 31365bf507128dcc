"""Rectified flow (Liu et al. 2023; Lipman et al. 2023): x_t = (1 - t) x_0 + t noise, and the
network predicts the velocity v = noise - x_0. Sampling integrates dx/dt = v from t = 1 (noise)
to t = 0 (data) with a diffusers scheduler."""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler
from tqdm.auto import tqdm

from latentaudio.conditioning.condition import Conditioning
from latentaudio.diffusion.guidance import Denoise, guided

TRAIN_TIMESTEPS = 1000  # schedulers express t in [0, 1] as t * 1000


def sample_time(batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Logit-normal(0, 1) flow times, which weight the middle of the path (Esser et al. 2024)."""
    return torch.sigmoid(torch.randn(batch, generator=generator))


def flow_errors(denoise: Denoise, x0: torch.Tensor, condition: Conditioning,
                mask: torch.Tensor | None = None, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per item: the summed squared velocity error over real (``mask`` (B, T) True) latent
    values, how many values that is, and the flow time drawn; all ``(B,)``."""
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    time = sample_time(x0.shape[0], generator).to(x0.device, x0.dtype)
    xt = (1 - time[:, None, None]) * x0 + time[:, None, None] * noise
    error = (denoise(xt, time, condition).float() - (noise - x0).float()).pow(2)
    weight = torch.ones_like(error[:, :1]) if mask is None else mask[:, None, :].float()
    return ((error * weight).sum(dim=(1, 2)), weight.sum(dim=(1, 2)) * error.shape[1],
            time.float())


def flow_loss(denoise: Denoise, x0: torch.Tensor, condition: Conditioning,
              mask: torch.Tensor | None = None,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Mean squared velocity error over real (``mask`` (B, T) True) latent frames."""
    errors, counts, _ = flow_errors(denoise, x0, condition, mask, generator)
    return errors.sum() / counts.sum().clamp_min(1)


SCHEDULERS: dict[str, Callable[[], object]] = {
    "euler": lambda: FlowMatchEulerDiscreteScheduler(num_train_timesteps=TRAIN_TIMESTEPS,
                                                     shift=1.0),
    "dpm++": lambda: DPMSolverMultistepScheduler(
        num_train_timesteps=TRAIN_TIMESTEPS, use_flow_sigmas=True,
        prediction_type="flow_prediction", flow_shift=1.0, algorithm_type="dpmsolver++",
        solver_order=2, final_sigmas_type="zero"),
}


def initial_noise(shape: tuple[int, ...], generators: list[torch.Generator],
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One generator per item (as EDM), so item i's noise does not depend on the batch size.
    Drawn on each generator's own device (as diffusers' ``randn_tensor``), so a seed gives the
    same noise wherever the pipeline runs; the caller moves it to the execution device."""
    if len(generators) != shape[0]:
        raise ValueError(f"need one generator per item: {len(generators)} for {shape[0]}")
    return torch.stack([torch.randn(shape[1:], generator=g, dtype=dtype, device=g.device)
                        for g in generators])


def integration_dtype(model_dtype: torch.dtype) -> torch.dtype:
    """What a sampler's latents are kept in for a denoiser in ``model_dtype``: fp32 under a
    16-bit denoiser (12 solver steps in bf16 would round the latents at every step)."""
    return torch.float32 if model_dtype in (torch.bfloat16, torch.float16) else model_dtype


def for_sampling(model) -> tuple[Denoise, torch.dtype]:
    """``(denoise, dtype)``: ``model`` as a sampler runs it, and the dtype its latents are kept
    in. Under a 16-bit model the latents stay fp32 and are cast down for each call (the output
    cast back); otherwise the model itself, in its own dtype."""
    dtype = integration_dtype(model.dtype)
    if dtype == model.dtype:
        return model, dtype

    def run(x: torch.Tensor, time: torch.Tensor, condition: Conditioning) -> torch.Tensor:
        return model(x.to(model.dtype), time.to(model.dtype), condition).to(x.dtype)

    return run, dtype


@torch.no_grad()
def sample(denoise: Denoise, noise: torch.Tensor, condition: Conditioning,
           negative: Conditioning | None = None, *, steps: int = 12,
           guidance: float | Callable[[], float] = 4.0,
           tempo_guidance: float | None = None, key_guidance: float | None = None,
           scheduler: str | object = "dpm++", progress: bool = False, start: float = 1.0,
           start_latents: torch.Tensor | None = None, known: torch.Tensor | None = None,
           known_mask: torch.Tensor | None = None,
           callback: Callable[[int, int], None] | None = None,
           step_end: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
           ) -> torch.Tensor:
    """Integrate from ``noise`` (t = 1) to data (t = 0) in ``steps`` scheduler steps with CFG.
    ``scheduler`` is a name in :data:`SCHEDULERS` or a diffusers scheduler instance.

    Editing hooks, both with the same ``noise`` so that item i stays reproducible:

    - ``start`` < 1 with ``start_latents`` (SDEdit, Meng et al. 2022): begin at flow time
      ``start`` from ``start_latents`` noised to that time, and run only the remaining steps of
      the ``steps``-step schedule. ``start`` = 0 returns ``start_latents``.
    - ``known`` with ``known_mask`` (``(B, 1 or C, T)`` bool, True where known): after every step
      the known values are reset to ``known`` noised to the current time, so the rest is
      generated to fit them (the replacement method, as in RePaint without resampling, Lugmayr
      et al. 2022): inpainting and continuation without an inpainting-trained model.

    ``callback(done, total)`` runs after each step (a server's progress and cancel point: an
    exception raised there stops the sampling). ``step_end(index, timestep, x)`` runs before
    it and returns the latents to go on with (diffusers' ``callback_on_step_end``).
    ``guidance`` may be a function, read at every step (such a callback may change it).
    ``tempo_guidance`` and ``key_guidance`` are the tempo's and key's own scales (None: the
    same as ``guidance``; see :func:`~latentaudio.diffusion.guidance.guided`).

    Everything made here lives on ``noise``'s device and dtype.
    """
    if isinstance(scheduler, str):
        if scheduler not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {scheduler!r}: use one of "
                             f"{', '.join(SCHEDULERS)}")
        scheduler = SCHEDULERS[scheduler]()
    if not 0.0 <= start <= 1.0:
        raise ValueError(f"start must be in [0, 1], got {start}")
    if start < 1.0 and start_latents is None:
        raise ValueError("start < 1 needs start_latents")
    if (known is None) != (known_mask is None):
        raise ValueError("known and known_mask go together")
    solver = scheduler
    solver.set_timesteps(steps, device=noise.device)
    times = [float(t) / TRAIN_TIMESTEPS for t in solver.timesteps] + [0.0]
    first = next((i for i, t in enumerate(times[:-1]) if t <= start + 1e-6), len(times) - 1)
    if first == len(times) - 1:  # nothing left to integrate
        return start_latents.clone()
    if hasattr(solver, "set_begin_index"):
        solver.set_begin_index(first)
    negative = negative if negative is not None else condition.null_like()

    def noised(latents: torch.Tensor, time: float) -> torch.Tensor:
        return (1 - time) * latents + time * noise

    x = noise if first == 0 and start >= 1.0 else noised(start_latents, times[first])
    if known is not None:
        x = torch.where(known_mask, noised(known, times[first]), x)
    for index in tqdm(range(first, len(times) - 1), desc="denoising", unit="step",
                      disable=not progress, leave=False):
        timestep = solver.timesteps[index]
        time = torch.full((x.shape[0],), times[index], dtype=x.dtype, device=x.device)
        scale = guidance() if callable(guidance) else guidance
        velocity = guided(denoise, x, time, condition, negative, scale, tempo_guidance,
                          key_guidance)
        x = solver.step(velocity, timestep, x).prev_sample
        if known is not None:
            x = torch.where(known_mask, noised(known, times[index + 1]), x)
        if step_end is not None:
            x = step_end(index, timestep, x)
        if callback is not None:
            callback(index + 1 - first, len(times) - 1 - first)
    return x
