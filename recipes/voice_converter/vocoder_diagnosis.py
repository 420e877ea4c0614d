"""What a compact vocoder gets wrong: its copies of VCC 2016 recordings against HiFi-GAN V1's, band by band.

    python recipes/voice_converter/vocoder_diagnosis.py runs/voice_converter/vocoder-gan/compact-1000.safetensors [--recordings 6]

For each recording (every 9th real VCC 2016 file of ../shared/data, which no vocoder trained on), V1 and the student
resynthesise its HiFi-GAN mel. Printed: the RMS of both; the student's level minus V1's in six frequency bands (Welch
spectra, dB); the frequencies where the student adds most; and DistillMOS of V1, the student, and the student at
V1's level (so a level error and a sound error can be told apart). --json writes the same.
"""

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch
from scipy.signal import welch

from voice.judges import distill_mos
from voice.vocoders import CompactHiFiGANVocoder, HiFiGAN
from voxtwin import audio

HERE = Path(__file__).resolve().parent
BANDS_HZ = ((0, 100), (100, 500), (500, 2000), (2000, 4000), (4000, 8000), (8000, 11025))


def vcc_recordings(data: Path, n: int) -> list[Path]:
    with open(data / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["source"] == "vcc2016_ccganvc" and r["label"] == "bonafide"]
    return [data / r["path"] for r in rows[::9][:n]]


def band_differences(reference: np.ndarray, candidate: np.ndarray, sample_rate: int) -> tuple[dict[str, float], list[tuple[float, float]]]:
    """(candidate minus reference in dB per band, the 5 frequencies where the candidate adds most)."""
    freqs, ref = welch(reference, sample_rate, nperseg=2048)
    _, cand = welch(candidate, sample_rate, nperseg=2048)
    diff = 10 * np.log10(cand + 1e-12) - 10 * np.log10(ref + 1e-12)
    bands = {f"{lo}-{hi} Hz": round(float(diff[(freqs >= lo) & (freqs < hi)].mean()), 1) for lo, hi in BANDS_HZ}
    worst = [(round(float(freqs[i])), round(float(diff[i]), 1)) for i in np.argsort(diff)[::-1][:5]]
    return bands, worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, help="compact vocoder weights (recipes/voice_converter/distill_vocoder.py)")
    parser.add_argument("--recordings", type=int, default=6)
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not (args.data / "manifest.csv").is_file():
        raise SystemExit(f"error: {args.data / 'manifest.csv'} not found: the diagnosis reads VCC 2016 recordings from ../shared/data (--data DIR)")
    torch.set_num_threads(args.threads)
    teacher, student = HiFiGAN(), CompactHiFiGANVocoder(args.weights)
    rows = []
    for path in vcc_recordings(args.data, args.recordings):
        wav, _ = audio.load(path, teacher.sample_rate)
        with torch.inference_mode():
            mel = teacher.mel(torch.from_numpy(wav)[None])
        a, b = teacher.mel_to_wav(mel), student.mel_to_wav(mel)
        bands, worst = band_differences(a, b, teacher.sample_rate)
        row = {"recording": path.name, "rms_v1": round(float(a.std()), 4), "rms_student": round(float(b.std()), 4), "bands_db": bands,
               "student_adds_most_hz_db": worst, "distillmos_v1": distill_mos(a, teacher.sample_rate),
               "distillmos_student": distill_mos(b, teacher.sample_rate),
               "distillmos_student_at_v1_level": distill_mos(b * a.std() / max(float(b.std()), 1e-8), teacher.sample_rate)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    means = {k: round(float(np.mean([r[k] for r in rows])), 2) for k in ("distillmos_v1", "distillmos_student", "distillmos_student_at_v1_level")}
    print(f"DistillMOS over {len(rows)} recordings: V1 {means['distillmos_v1']}, student {means['distillmos_student']}, "
          f"student at V1's level {means['distillmos_student_at_v1_level']}")
    if args.json:
        args.json.write_text(json.dumps({"weights": str(args.weights), "means": means, "recordings": rows}, indent=1))


if __name__ == "__main__":
    main()
