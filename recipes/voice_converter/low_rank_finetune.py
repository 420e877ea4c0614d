"""Fine-tune a low-rank HiFi-GAN V1 (low_rank_vocoder.py's projections) to copy V1's waveform; resumable.

    python recipes/voice_converter/low_rank_finetune.py --variant "quarter rank" --steps 900 --out runs/voice_converter/low-rank-ft
    python recipes/voice_converter/low_rank_finetune.py --out runs/voice_converter/low-rank-ft --judge   # DistillMOS of each checkpoint

Untrained, the quarter-rank V1 (1.79x faster on one AVX2-only core) copies VCC 2016 recordings at DistillMOS 2.11
against V1's 3.90 (voice/converter/MODEL_CARD.md). It starts much closer to V1 than the pruned student did, with
every layer and branch in place, so this asks whether fine-tuning gets its sound back: multi-resolution STFT + mel L1
+ a small waveform L1 against V1's own output (voice/converter/vocoder_distillation.py's losses) on crops of real
LibriSpeech / VCTK speech of ../shared/data (never VCC 2016, which judges). V1's waveforms are computed once for a
pool of chunks (OUT/pool.pt). Checkpoints (OUT/step-N.pt, the latest also OUT/last.pt) hold the low-rank network's
tensors (its projections included), the optimizer's state and the variant's name, and load with
torch.load(weights_only=True); resuming or judging them takes the same --variant and --calibration. The same command
runs on a GPU (`--device cuda`), where the FFT path is not used.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from voice.converter.vocoder_distillation import MelLoss, copy_loss
from voice.fft_convolution import use_fft_convolutions
from voice.judges import distill_mos
from voice.vocoders import HiFiGAN

from low_rank_vocoder import VARIANTS, calibration_recordings, evenly, low_rank_copy, mel_of, output_statistics, real_recordings  # noqa: I001
from vocoder_diagnosis import vcc_recordings

HERE = Path(__file__).resolve().parent
HOP = 256
CORE, CONTEXT = 48, 12  # frames compared, and frames of context on each side given but not compared
WAVE_WEIGHT, MEL_WEIGHT = 0.2, 1.0  # as vocoder_distillation.DistillSettings


def training_recordings(data: Path, n: int, calibration: set[Path]) -> list[Path]:
    """n of the real recordings that did not set the principal directions."""
    return evenly([p for p in real_recordings(data) if p not in calibration], n)


@torch.inference_mode()
def make_pool(vocoder: HiFiGAN, paths: list[Path], chunks_per_file: int, seed: int = 0) -> dict:
    """Mel chunks of CORE + 2 CONTEXT frames and V1's waveform for their core."""
    rng = np.random.default_rng(seed)
    span = CORE + 2 * CONTEXT
    mels, waves = [], []
    for path in paths:
        mel = mel_of(vocoder, path)
        if mel.shape[-1] < span:
            continue
        for start in rng.integers(0, mel.shape[-1] - span + 1, size=chunks_per_file):
            crop = mel[..., start : start + span]
            mels.append(crop[0])
            waves.append(vocoder.generator(crop)[0, 0, CONTEXT * HOP : (CONTEXT + CORE) * HOP])
    return {"mel": torch.stack(mels), "wave": torch.stack(waves)}


def core_of(y: torch.Tensor) -> torch.Tensor:
    return y[:, 0, CONTEXT * HOP : (CONTEXT + CORE) * HOP]


def checkpoint(path: Path, variant: str, device: torch.device | str = "cpu") -> dict:
    """A checkpoint of this recipe, refused in one line if it was made for another variant."""
    state = torch.load(path, map_location=device, weights_only=True)
    if state.get("variant") != variant:
        raise SystemExit(f"error: {path} was trained as {state.get('variant')!r}, not {variant!r} (--variant)")
    return state


def train(args, vocoder: HiFiGAN, stats: dict) -> None:
    device = torch.device(args.device)
    student, share = low_rank_copy(vocoder.generator, stats, VARIANTS[args.variant])
    student = student.to(device).train()
    optimizer = torch.optim.AdamW(student.parameters(), lr=args.learning_rate, betas=(0.8, 0.99))
    step = 0
    if (args.out / "last.pt").is_file():
        state = checkpoint(args.out / "last.pt", args.variant, device)
        student.load_state_dict(state["student"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        print(f"resumed at step {step}", flush=True)
    pool_path = args.out / "pool.pt"
    if pool_path.is_file():
        pool = torch.load(pool_path, weights_only=True)
    else:
        calibration = set(calibration_recordings(args.data, args.calibration))
        pool = make_pool(vocoder, training_recordings(args.data, args.pool_files, calibration), args.chunks_per_file)
        torch.save(pool, pool_path)
    pool = {key: value.clone() for key, value in pool.items()}  # made under inference mode: ordinary tensors for autograd
    mel_loss = MelLoss(device)
    rng = np.random.default_rng(step)
    started, losses = time.time(), []
    while step < args.steps:
        index = torch.from_numpy(rng.integers(len(pool["mel"]), size=args.batch_size))
        mel, target = pool["mel"][index].to(device), pool["wave"][index].to(device)
        y = core_of(student(mel))
        loss = copy_loss(y, target, mel_loss, mel_weight=MEL_WEIGHT, wave_weight=WAVE_WEIGHT)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 10.0)
        optimizer.step()
        step += 1
        losses.append(loss.item())
        if step % args.checkpoint_every == 0 or step == args.steps:
            state = {"step": step, "variant": args.variant, "student": student.state_dict(), "optimizer": optimizer.state_dict()}
            torch.save(state, args.out / f"step-{step}.pt")
            torch.save(state, args.out / "last.pt")
            print(f"step {step}: loss {np.mean(losses):.4f} ({(time.time() - started) / len(losses):.2f} s a step; multiply-adds x{share:.3f})", flush=True)
            started, losses = time.time(), []


@torch.inference_mode()
def judge(args, vocoder: HiFiGAN, stats: dict) -> dict:
    """DistillMOS of V1's, the untrained projection's and each checkpoint's copies of the VCC 2016 recordings."""
    checkpoints = sorted(args.out.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    models = {"V1": vocoder.generator, "step 0 (projection)": low_rank_copy(vocoder.generator, stats, VARIANTS[args.variant])[0]}
    for path in checkpoints:
        model, _ = low_rank_copy(vocoder.generator, stats, VARIANTS[args.variant])
        model.load_state_dict(checkpoint(path, args.variant)["student"])
        models[path.stem.replace("-", " ")] = model.eval()
    for model in models.values():
        use_fft_convolutions(model)
    torch.set_num_threads(1)
    scores = {name: [] for name in models}
    for path in vcc_recordings(args.data, args.recordings):
        mel = mel_of(vocoder, path)
        for name, model in models.items():
            scores[name].append(distill_mos(model(mel)[0, 0].numpy(), vocoder.sample_rate))
        print(path.name, " ".join(f"{scores[name][-1]:.2f}" for name in models), flush=True)
    result = {name: round(float(np.mean(values)), 3) for name, values in scores.items()}
    for name, value in result.items():
        print(f"{name:22s} DistillMOS {value:.3f}")
    (args.out / "judged.json").write_text(json.dumps({"variant": args.variant, "recordings": args.recordings, "distillmos": result}, indent=1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("runs/voice_converter/low-rank-ft"))
    parser.add_argument("--variant", choices=list(VARIANTS), default="quarter rank")
    parser.add_argument("--calibration", type=int, default=16, help="real recordings that set the principal directions (as low_rank_vocoder.py)")
    parser.add_argument("--pool-files", type=int, default=120, help="other real recordings whose chunks train it")
    parser.add_argument("--chunks-per-file", type=int, default=4)
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--checkpoint-every", type=int, default=150)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--judge", action="store_true", help="judge the checkpoints in --out instead of training")
    parser.add_argument("--recordings", type=int, default=8, help="with --judge: VCC 2016 recordings judged")
    args = parser.parse_args()
    if min(args.calibration, args.pool_files, args.chunks_per_file, args.steps, args.batch_size, args.checkpoint_every, args.threads, args.recordings) < 1:
        parser.error("counts and sizes need to be at least 1")
    if not (args.data / "manifest.csv").is_file():
        raise SystemExit(f"error: {args.data / 'manifest.csv'} not found (--data DIR)")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    vocoder = HiFiGAN(precision="fp32", fft_convolution=False)  # gradients and copies need the direct layers
    stats = output_statistics(vocoder.generator, [mel_of(vocoder, p) for p in calibration_recordings(args.data, args.calibration)])
    if args.judge:
        judge(args, vocoder, stats)
    else:
        train(args, vocoder, stats)


if __name__ == "__main__":
    main()
