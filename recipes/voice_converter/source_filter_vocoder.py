"""Can a source-filter vocoder (pulses at the converter's F0 + noise, filtered by a small network) stand in for V1?
(research, issue 19's RTF aim on AVX2-only CPUs)

    python recipes/voice_converter/source_filter_vocoder.py pool                 # ~1 min on 2 cores: --pool (runs/voice_converter/source-filter/pool.pt)
    python recipes/voice_converter/source_filter_vocoder.py train --steps 4000   # resumable: OUT/last.pt, OUT/step-N.pt
    python recipes/voice_converter/source_filter_vocoder.py judge OUT/step-4000.pt [...]   # DistillMOS of copies + RTF

The pool holds real speech of ../shared/data (never VCC 2016, which judges): each recording loudness-normalised as
the converter does, its V1 mel and WORLD pitch on the mel grid (voice/converter/analysis.py, what conversion feeds a
vocoder), and the waveform at 22.05 kHz. `train` fits voice/converter/source_filter_vocoder.py to reproduce the
recording from its mel and pitch (multi-resolution STFT + mel L1; no critics). `judge` copies VCC 2016 recordings
(their own mel and pitch) with V1 and with each checkpoint and prints DistillMOS, and times both on one thread.
Results: voice/converter/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
import timeit
from pathlib import Path

import numpy as np
import torch

from voice.converter.analysis import mel_of, pitch, prepare
from voice.converter.source_filter_vocoder import HOP, SourceFilterVocoder
from voice.converter.vocoder_distillation import MelLoss, stft_loss
from voice.vocoders import HiFiGAN
from voxtwin import audio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from vocoder_diagnosis import vcc_recordings  # noqa: E402

MAX_SECONDS = 6.0
CROP_FRAMES = 128


def training_recordings(data: Path, n: int) -> list[Path]:
    """n real recordings of ../shared/data of at least 2 s, never VCC 2016, in a fixed shuffled order."""
    with open(data / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "real" and r["source"] != "vcc2016_ccganvc" and float(r["duration_s"]) >= 2.0]
    np.random.default_rng(0).shuffle(rows)
    return [data / r["path"] for r in rows[:n]]


def features(wav_16k: np.ndarray) -> dict[str, torch.Tensor]:
    """What the vocoder reads and what it should make, for one 16 kHz recording."""
    wav = prepare(wav_16k)
    mel = mel_of(wav)
    log_f0, voiced = pitch(wav, mel.shape[1])
    target = audio.resample(wav, 16_000, 22_050)[: mel.shape[1] * HOP]
    target = np.pad(target, (0, mel.shape[1] * HOP - len(target)))
    return {"mel": torch.from_numpy(mel).half(), "log_f0": torch.from_numpy(log_f0), "voiced": torch.from_numpy(voiced),
            "wave": torch.from_numpy((np.clip(target, -1, 1) * 32767).astype(np.int16))}


def build_pool(args: argparse.Namespace) -> Path:
    torch.set_num_threads(args.threads)
    items = []
    for i, path in enumerate(training_recordings(args.data, args.recordings)):
        wav, _ = audio.load(path, 16_000)
        items.append(features(wav[: int(MAX_SECONDS * 16_000)]))
        if i % 50 == 0:
            print(f"pool: {i} recordings", flush=True)
    out = args.pool
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: [item[k] for item in items] for k in items[0]}, out)
    print(f"pool: {len(items)} recordings -> {out}")
    return out


def batch(pool: dict, usable: list[int], rng: np.random.Generator, size: int):
    """`size` random crops of CROP_FRAMES frames from the pool's recordings `usable` (those at least that long)."""
    mel, f0, voiced, wave = [], [], [], []
    for i in rng.choice(usable, size=size):
        start = int(rng.integers(0, pool["mel"][i].shape[1] - CROP_FRAMES + 1))
        mel.append(pool["mel"][i][:, start : start + CROP_FRAMES].float())
        f0.append(pool["log_f0"][i][start : start + CROP_FRAMES])
        voiced.append(pool["voiced"][i][start : start + CROP_FRAMES])
        wave.append(pool["wave"][i][start * HOP : (start + CROP_FRAMES) * HOP].float() / 32767)
    return torch.stack(mel), torch.stack(f0), torch.stack(voiced), torch.stack(wave)


def train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    if not args.pool.is_file():
        raise SystemExit(f"error: no pool at {args.pool}: run `pool` first")
    pool = torch.load(args.pool, weights_only=True)
    args.out.mkdir(parents=True, exist_ok=True)
    model = SourceFilterVocoder(channels=args.channels, layers=args.layers, n_fft=args.n_fft, hop=args.hop, pulses_everywhere=args.pulses_everywhere)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    step, last = 0, args.out / "last.pt"
    if last.is_file():
        state = torch.load(last, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
    elif args.init:
        model.load_state_dict(torch.load(args.init, weights_only=True)["model"])
    rng = np.random.default_rng(step)
    usable = [i for i, m in enumerate(pool["mel"]) if m.shape[1] >= CROP_FRAMES]
    mel_loss = MelLoss(torch.device("cpu"))
    started = time.perf_counter()
    while step < args.steps:
        for group in optimizer.param_groups:
            group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        mel, f0, voiced, wave = batch(pool, usable, rng, args.batch)
        y = model(mel, f0, voiced)
        loss = stft_loss(y, wave) + mel_loss(y, wave)
        if not torch.isfinite(loss):
            raise SystemExit(f"step {step}: the loss is not finite; resume with a lower --lr (--init OUT/step-N.pt)")
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.3f} ({(time.perf_counter() - started) / 50:.2f} s/step)", flush=True)
            started = time.perf_counter()
        if step % args.save_every == 0 or step == args.steps:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}, last)
            torch.save({"model": model.state_dict(), "config": model.config}, args.out / f"step-{step}.pt")


def load(path: Path) -> SourceFilterVocoder:
    state = torch.load(path, weights_only=True)
    model = SourceFilterVocoder(**state["config"])
    model.load_state_dict(state["model"])
    return model.eval()


@torch.inference_mode()
def judge(args: argparse.Namespace) -> None:
    from voice.judges import distill_mos

    torch.set_num_threads(args.threads)
    v1 = HiFiGAN(precision="fp32")
    models = [load(p) for p in args.checkpoints]
    scores = []
    for path in vcc_recordings(args.data, 8):
        wav, _ = audio.load(path, 16_000)
        item = features(wav)
        mel, f0, voiced = item["mel"].float()[None], item["log_f0"][None], item["voiced"][None]
        row = [distill_mos(audio.resample(v1.mel_to_wav(mel), 22_050, 16_000), 16_000)]
        for model in models:
            y = model(mel, f0, voiced, noise=torch.randn(1, mel.shape[-1] * HOP, generator=torch.Generator().manual_seed(0)))[0].numpy()
            row.append(distill_mos(audio.resample(y, 22_050, 16_000), 16_000))
        scores.append(row)
        print(path.name, " ".join(f"{s:.2f}" for s in row), flush=True)
    mean = np.mean(scores, axis=0)
    print(f"DistillMOS, mean of {len(scores)} VCC 2016 copies: V1 {mean[0]:.3f} | checkpoints", " ".join(f"{s:.3f}" for s in mean[1:]))
    torch.set_num_threads(1)
    mel = torch.randn(1, 80, 430, generator=torch.Generator().manual_seed(0)) * 0.5 - 5
    f0, voiced = torch.full((1, 430), math.log(150.0)), torch.ones(1, 430, dtype=torch.bool)
    seconds = 430 * HOP / 22_050
    for name, run in {"V1": lambda: v1.mel_to_wav(mel), "source-filter": lambda: (models or [SourceFilterVocoder().eval()])[0](mel, f0, voiced)}.items():
        run()
        best = min(timeit.repeat(run, number=1, repeat=3))
        print(f"RTF, one thread, float32, {seconds:.1f} s: {name} {best / seconds:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["pool", "train", "judge"])
    parser.add_argument("checkpoints", nargs="*", type=Path, help="judge: checkpoints (OUT/step-N.pt)")
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path("runs/voice_converter/source-filter"))
    parser.add_argument("--pool", type=Path, default=Path("runs/voice_converter/source-filter/pool.pt"), help="pool: where to write it; train: what to read")
    parser.add_argument("--recordings", type=int, default=400)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--n-fft", type=int, default=1024, help="the synthesis STFT")
    parser.add_argument("--hop", type=int, default=256, help="the synthesis hop (256 or a divisor: more filters per mel frame)")
    parser.add_argument("--pulses-everywhere", action="store_true", help="pulses through unvoiced frames too; the network gates them")
    parser.add_argument("--init", type=Path, help="train: start from this checkpoint's weights (a fresh optimizer and schedule)")
    parser.add_argument("--save-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.command in ("pool", "judge") and not (args.data / "manifest.csv").is_file():
        raise SystemExit(f"error: {args.data} has no manifest.csv (the shared speech this recipe needs)")
    {"pool": build_pool, "train": train, "judge": judge}[args.command](args)


if __name__ == "__main__":
    main()
