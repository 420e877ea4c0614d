"""Can V1 cut after two stages and finished by an iSTFT head copy V1 well enough for float32 RTF <= 0.5? (research)

    python recipes/voice_converter/istft_head_vocoder.py pool                       # ~7 min on 2 cores: OUT/pool.npz (1.2 GB)
    python recipes/voice_converter/istft_head_vocoder.py train --steps 3000         # ~11 min: OUT/head.pt, spectral copying
    python recipes/voice_converter/istft_head_vocoder.py train --init OUT/head.pt --adversarial-weight 1 --steps 5000 --out-name adversarial.pt [--device cuda]
    python recipes/voice_converter/istft_head_vocoder.py judge OUT/head.pt [OUT/adversarial-2500.pt ...]   # DistillMOS + RTF

The head (voice/converter/istft_head.py) reads V1's own stage-2 features, so the pool caches them with V1's waveform
for 1.86 s chunks of the real speech of ../shared/data (never VCC 2016, which judges). `train` copies V1's waveform:
multi-resolution STFT + mel L1 + a waveform L1 (cosine schedule), or, with --adversarial-weight, V1-waveform critics
(voice/converter/waveform_discriminators.py; least squares + feature matching) on top of the STFT and mel terms at a
constant rate. `judge` resynthesises VCC 2016 recordings with V1 and with each head and prints DistillMOS, and V1's
and the cut V1's real-time factor on one thread in float32. Results: voice/converter/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from voice.converter.istft_head import ISTFTHead, v1_finish, v1_first_stages
from voice.converter.vocoder_distillation import MelLoss, stft_loss
from voice.converter.waveform_discriminators import WaveformDiscriminators, discriminator_loss, feature_matching_loss, generator_loss
from voice.vocoders import HiFiGAN
from voxtwin import audio
from voxtwin.errors import VoxtwinError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from vocoder_diagnosis import vcc_recordings  # noqa: E402

CHUNK_FRAMES = 160
VALIDATION_CHUNKS = 20
CONTEXT = 64  # head steps on each side of a crop that are given, not compared


def real_recordings(data: Path, n: int) -> tuple[list[Path], np.random.Generator]:
    """n real recordings of ../shared/data of at least 2.2 s, never VCC 2016, in a fixed shuffled order, and the
    generator that shuffled them (it goes on to place the chunks)."""
    with open(data / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "real" and r["source"] != "vcc2016_ccganvc" and float(r["duration_s"]) >= 2.2]
    rng = np.random.default_rng(0)
    rng.shuffle(rows)
    return [data / r["path"] for r in rows[:n]], rng


@torch.inference_mode()
def build_pool(data: Path, out: Path, chunks: int) -> Path:
    """One chunk of CHUNK_FRAMES mel frames per recording: V1's stage-2 features (fp16) and V1's waveform."""
    vocoder = HiFiGAN(precision="fp32")
    paths, rng = real_recordings(data, chunks)
    features, waves = [], []
    for k, path in enumerate(paths):
        wav, _ = audio.load(path, 16_000)
        mel = vocoder.mel(torch.from_numpy(audio.resample(wav, 16_000, vocoder.sample_rate))[None])
        if mel.shape[-1] < CHUNK_FRAMES:
            continue
        start = int(rng.integers(0, mel.shape[-1] - CHUNK_FRAMES + 1))
        mel = mel[:, :, start : start + CHUNK_FRAMES]
        h = v1_first_stages(vocoder.generator, mel)
        features.append(h[0].numpy().astype(np.float16))
        waves.append(v1_finish(vocoder.generator, h)[0, 0].numpy())
        if k % 50 == 0:
            print(f"pool: {k} of {len(paths)}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, h=np.stack(features), y=np.stack(waves))
    return out


def complex_stft_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between complex spectra (phase included) at three resolutions, relative to the target's mean magnitude."""
    total = 0.0
    for n_fft in (256, 512, 1024):
        window = torch.hann_window(n_fft, device=y.device)
        a, b = (torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True) for x in (y, target))
        total = total + (a - b).abs().mean() / b.abs().mean()
    return total / 3


def crops(features: np.ndarray, waves: np.ndarray, rng: np.random.Generator, *, batch: int, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch` random crops: `steps` head steps with CONTEXT on each side, and V1's waveform for the middle."""
    xs, ys = [], []
    for i in rng.integers(len(features), size=batch):
        a = int(rng.integers(0, features.shape[2] - steps - 2 * CONTEXT))
        xs.append(features[i, :, a : a + steps + 2 * CONTEXT])
        ys.append(waves[i, (a + CONTEXT) * 4 : (a + CONTEXT + steps) * 4])
    return torch.from_numpy(np.stack(xs).astype(np.float32)), torch.from_numpy(np.stack(ys))


def train(args: argparse.Namespace) -> Path:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    pool = np.load(args.out / "pool.npz")
    features, waves = pool["h"], pool["y"]
    held = min(VALIDATION_CHUNKS, len(features) // 2)  # a tiny pool (tests) keeps half for training
    val_features, val_waves = features[:held], waves[:held]
    features, waves = features[held:], waves[held:]
    head = ISTFTHead(channels=args.channels, blocks=args.blocks, n_fft=args.n_fft)
    if args.init:
        state = torch.load(args.init, weights_only=True, map_location="cpu")
        if args.adversarial_weight > 0:
            head.load_state_dict(state)
        else:  # a new n_fft starts a new output layer
            print(head.load_state_dict({k: v for k, v in state.items() if not k.startswith("output.")}, strict=False))
    adversarial = args.adversarial_weight > 0
    device = torch.device(args.device if args.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu")
    critics = WaveformDiscriminators().to(device).train() if adversarial else None
    head.to(device)
    rate = 2e-4 if adversarial else 2e-3
    optimizer = torch.optim.AdamW(head.parameters(), rate, betas=(0.8, 0.99))
    critic_optimizer = torch.optim.AdamW(critics.parameters(), 2e-4, betas=(0.8, 0.99), weight_decay=0.0) if adversarial else None
    mel_loss = MelLoss(device)
    rng = np.random.default_rng(1 if adversarial else 0)
    out = args.out / args.out_name
    every = 50 if adversarial else 100
    start, history = time.time(), []
    for step in range(1, args.steps + 1):
        if not adversarial:
            for group in optimizer.param_groups:
                group["lr"] = rate * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        x, y = (t.to(device) for t in crops(features, waves, rng, batch=4, steps=2048 if adversarial else 4096))
        p = head(x)[:, CONTEXT * 4 : -CONTEXT * 4]
        if adversarial:
            critic_loss = discriminator_loss(critics(y[:, None]), critics(p[:, None].detach()))
            critic_optimizer.zero_grad()
            critic_loss.backward()
            critic_optimizer.step()
            critics.requires_grad_(False)
            with torch.no_grad():
                real = critics(y[:, None])
            fake = critics(p[:, None])
            spectral = stft_loss(p, y) + mel_loss(p, y)
            loss = spectral + args.adversarial_weight * (generator_loss(fake) + 2 * feature_matching_loss(real, fake))
            critics.requires_grad_(True)
            history.append((spectral.item(), critic_loss.item()))
        else:
            loss = stft_loss(p, y) + mel_loss(p, y) + args.wave_weight * F.l1_loss(p, y) / y.abs().mean()
            if args.complex_weight:
                loss = loss + args.complex_weight * complex_stft_loss(p, y)
            history.append((loss.item(), 0.0))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), 10)
        optimizer.step()
        if step % every == 0:
            recent = np.mean(history[-every:], axis=0)
            if adversarial:
                print(f"step {step} spec {recent[0]:.3f} critic {recent[1]:.3f} {time.time() - start:.0f}s", flush=True)
            else:
                with torch.no_grad():
                    val = np.mean([mel_loss(head(torch.from_numpy(val_features[i : i + 1].astype(np.float32)).to(device)), torch.from_numpy(val_waves[i : i + 1]).to(device)).item()
                                   for i in range(len(val_features))])
                print(f"step {step} loss {recent[0]:.3f} val_mel {val:.3f} {time.time() - start:.0f}s", flush=True)
            torch.save(head.state_dict(), out)
        if adversarial and step % 250 == 0:
            torch.save(head.state_dict(), out.with_name(f"{out.stem}-{step}{out.suffix}"))
    return out


def load_head(path: Path) -> ISTFTHead:
    state = torch.load(path, weights_only=True, map_location="cpu")
    blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    head = ISTFTHead(channels=state["input.weight"].shape[0], blocks=blocks, n_fft=state["output.weight"].shape[0] - 2)
    head.load_state_dict(state)
    return head.eval()


@torch.inference_mode()
def judge(args: argparse.Namespace) -> None:
    from voice.judges import distill_mos

    torch.set_num_threads(args.threads)
    vocoder = HiFiGAN(precision="fp32")
    heads = [load_head(p) for p in args.heads]
    scores = []
    for path in vcc_recordings(args.data, args.recordings):
        wav, _ = audio.load(path, 16_000)
        mel = vocoder.mel(torch.from_numpy(audio.resample(wav, 16_000, vocoder.sample_rate))[None])
        features = v1_first_stages(vocoder.generator, mel)
        row = [distill_mos(v1_finish(vocoder.generator, features)[0, 0].numpy(), vocoder.sample_rate)]
        row += [distill_mos(head(features)[0].numpy(), vocoder.sample_rate) for head in heads]
        scores.append(row)
        print(path.name, " ".join(f"{s:.2f}" for s in row), flush=True)
    print("DistillMOS, mean of", len(scores), "recordings: V1", " ".join(f"{s:.3f}" for s in np.mean(scores, axis=0)[:1]),
          "| heads", " ".join(f"{s:.3f}" for s in np.mean(scores, axis=0)[1:]))
    torch.set_num_threads(1)
    mel = torch.randn(1, 80, max(1, int(args.timed_seconds * vocoder.sample_rate) // 256), generator=torch.Generator().manual_seed(0)) * 0.5 - 5
    seconds = mel.shape[-1] * 256 / vocoder.sample_rate
    timed = {"V1": lambda: vocoder.generator(mel), "V1 stages 1-2 + head": lambda: (heads or [ISTFTHead().eval()])[0](v1_first_stages(vocoder.generator, mel))}
    for name, run in timed.items():
        best = min(_seconds(run) for _ in range(3))
        print(f"RTF, one thread, float32, {seconds:.1f} s of mel: {name} {best / seconds:.3f}")


def _seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["pool", "train", "judge"])
    parser.add_argument("heads", nargs="*", type=Path, help="judge: head checkpoints")
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("runs/voice_converter/istft-head"))
    parser.add_argument("--chunks", type=int, default=420)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--n-fft", type=int, default=16)
    parser.add_argument("--wave-weight", type=float, default=0.2)
    parser.add_argument("--complex-weight", type=float, default=0.0)
    parser.add_argument("--adversarial-weight", type=float, default=0.0)
    parser.add_argument("--init", type=Path)
    parser.add_argument("--out-name", default="head.pt")
    parser.add_argument("--recordings", type=int, default=8)
    parser.add_argument("--timed-seconds", type=float, default=5.0, help="judge: length of the random mel the RTF is timed on")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto", help="train: auto (a GPU when present), cpu or cuda")
    args = parser.parse_args()
    if args.command in ("pool", "judge") and not (args.data / "manifest.csv").is_file():
        parser.error(f"{args.data}: no manifest.csv (pass --data, the folder of ../shared/data)")
    if args.command == "train" and not (args.out / "pool.npz").is_file():
        parser.error(f"{args.out / 'pool.npz'}: no pool; run `pool` first")
    for path in args.heads + ([args.init] if args.init else []):
        if not path.is_file():
            parser.error(f"{path}: no such head checkpoint")
    try:
        if args.command == "pool":
            torch.set_num_threads(args.threads)
            print(build_pool(args.data, args.out / "pool.npz", args.chunks))
        elif args.command == "train":
            print(train(args))
        else:
            judge(args)
    except VoxtwinError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
