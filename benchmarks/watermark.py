"""Watermark robustness, false positives and imperceptibility: voxtwin's keyed mark beside resemble-perth
(Perth-Net implicit, 1-bit presence; the `bench` extra) on the same audio and attacks.

Marked set: real utterances of ../shared/data (LibriSpeech, VCTK, VCC 2016) of 6 s or more, upsampled to
22.05 kHz (the rate of voxtwin's Piper/HiFi-GAN outputs) and marked there. Attacks: opus 24 kbps, mp3 64 kbps,
resampling to 16 kHz and to 8 kHz, white noise at 20 dB SNR, gain +6 / -6 dB, a 3 s crop. Reported: detection
rate (voxtwin: p <= 1e-4; perth: confidence >= 0.5), voxtwin's payload bit accuracy (64 bits) and share of
payloads read intact (CRC), false positives on every real file in ../shared/data, and SNR and DistillMOS change.

    python benchmarks/watermark.py [--data ../shared/data] [--n 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from voice import judges
from voxtwin import audio, codec
from voxtwin.watermark import P_VALUE_THRESHOLD, detect_watermark, embed, read_bits
from voxtwin.watermark.payload import Payload, pack
from shared_data import require_shared_data

RATE = 22_050
KEY = bytes(range(32))


def attacks(wav: np.ndarray, rate: int, rng: np.random.Generator):
    yield "none", wav, rate
    yield "opus_24k", codec.transcode(wav, rate, codec="opus", bitrate_kbps=24), rate
    yield "mp3_64k", codec.transcode(wav, rate, codec="mp3", bitrate_kbps=64), rate
    yield "resample_16k", audio.resample(wav, rate, 16_000), 16_000
    yield "resample_8k", audio.resample(wav, rate, 8_000), 8_000
    noise = rng.standard_normal(len(wav)).astype(np.float32)
    yield "noise_20db", wav + noise * np.sqrt(np.mean(wav**2) / np.mean(noise**2) / 100), rate
    yield "gain_+6db", np.clip(wav * 2.0, -1, 1), rate
    yield "gain_-6db", wav * 0.5, rate
    start = int(rng.uniform(0, max(0.0, len(wav) / rate - 3.0)) * rate)
    yield "crop_3s", wav[start : start + 3 * rate], rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=30, help="marked clips")
    parser.add_argument("--no-perth", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    require_shared_data(args.data, "the real speech (LibriSpeech, VCTK, VCC 2016)")
    with open(args.data / "manifest.csv") as f:
        real = [r for r in csv.DictReader(f) if r["label"] == "bonafide"]
    clips = [r for r in real if r["corpus"] in ("librispeech", "vctk", "vcc2016") and float(r["duration_s"]) >= 6.0]
    clips = [clips[i] for i in np.random.default_rng(0).permutation(len(clips))[: args.n]]
    perth = None
    if not args.no_perth:
        import perth as perth_package

        perth = perth_package.PerthImplicitWatermarker()
    payload = Payload.now(KEY, consent=True)
    bits = pack(payload, KEY)
    stats: dict = {}
    quality = {"voxtwin": {"snr_db": [], "mos_delta": []}, "perth": {"snr_db": [], "mos_delta": []}}
    for i, row in enumerate(clips):
        wav, _ = audio.load(args.data / row["path"], RATE)
        marked = {"voxtwin": embed(wav, RATE, payload, KEY)}
        if perth is not None:
            marked["perth"] = perth.apply_watermark(wav, sample_rate=RATE).astype(np.float32)[: len(wav)]
        mos_plain = judges.distill_mos(wav, RATE)
        for name, y in marked.items():
            quality[name]["snr_db"].append(10 * np.log10(np.sum(wav**2) / np.sum((y - wav[: len(y)]) ** 2)))
            quality[name]["mos_delta"].append(judges.distill_mos(y, RATE) - mos_plain)
            for attack, attacked, rate in attacks(y, RATE, np.random.default_rng(i)):
                entry = stats.setdefault(attack, {}).setdefault(name, {"detected": [], "bit_accuracy": [], "payload_intact": []})
                if name == "voxtwin":
                    result = detect_watermark(attacked, rate, key=KEY)
                    entry["detected"].append(result.found)
                    decoded = read_bits(attacked, rate)
                    entry["bit_accuracy"].append(float(np.mean(decoded == bits)) if decoded is not None else 0.5)
                    entry["payload_intact"].append(bool(result.verified))
                else:
                    entry["detected"].append(float(perth.get_watermark(attacked, sample_rate=rate)) >= 0.5)
        print(f"{i + 1}/{len(clips)} marked clips", flush=True)
    false_positives = {"voxtwin": 0, "perth": 0, "files": 0}
    for row in real:
        wav, rate = audio.load(args.data / row["path"])
        false_positives["files"] += 1
        false_positives["voxtwin"] += int(detect_watermark(wav, rate).found)
        if perth is not None:
            false_positives["perth"] += int(float(perth.get_watermark(wav, sample_rate=rate)) >= 0.5)
    summary = {
        "clips": len(clips),
        "attacks": {a: {n: {k: round(float(np.mean(v)), 4) for k, v in e.items() if v} for n, e in per.items()} for a, per in stats.items()},
        "false_positives": false_positives,
        "analytic_false_positive_rate": P_VALUE_THRESHOLD,
        "imperceptibility": {n: {k: round(float(np.mean(v)), 3) for k, v in q.items() if v} for n, q in quality.items()},
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
