"""Can HiFi-GAN V1's convolutions run at a lower rank without retraining?

    python recipes/voice_converter/low_rank_vocoder.py [--calibration 16] [--recordings 8] [--refit] [--json OUT.json]

The converter misses RTF <= 0.5 on one AVX2-only core because V1 costs ~0.6 RTF there even by FFT; a vocoder ~1.7x
cheaper would meet it, and the retrained ones (pruned, compact, an iSTFT head) did not get near V1's sound on 2 CPU
cores (voice/converter/MODEL_CARD.md). Here each of V1's 72 residual convolutions (C_out x C_in x K) is replaced
by a rank-r pair, a K-tap convolution to r channels and a 1x1 back to C_out, costing r (C_in K + C_out) instead of
C_out C_in K multiply-adds. The pair is the layer followed by the projection onto its outputs' top-r principal
directions on real speech (data-aware, Zhang et al. 2015), so it keeps the share of each layer's output variance
that the rule asks for. The calibration recordings are LibriSpeech / VCTK files of ../shared/data; the judge is
DistillMOS of V1's copies of VCC 2016 recordings (vocoder_diagnosis.py's, which nothing here fitted on), the copies'
signal-to-difference ratio against V1's, the residual stack's multiply-adds, and each variant's one-thread RTF on
5 s of mel beside V1's, in alternating rounds (medians). Every variant runs the shipped FFT path where V1 does.

--refit fits each layer again by reduced-rank regression (ridge towards V1's weights) on the inputs that the
compressed layers before it produce, so that later layers make up for earlier ones' error, instead of projecting V1's
own outputs.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from voice.fft_convolution import use_fft_convolutions
from voice.judges import distill_mos
from voice.vocoders import HiFiGAN
from voxtwin import audio

from vocoder_diagnosis import vcc_recordings  # noqa: I001  (this folder is on sys.path when the script runs)

HERE = Path(__file__).resolve().parent
SLOPE = 0.1  # V1's LeakyReLU
CALIBRATION_SOURCES = ("resemblyzer_libri", "autovc_vctk")  # real speech, not VCC 2016 (the judged recordings)
STAGE_RATES_HZ = (22_050 / 256 * 8, 22_050 / 256 * 64, 22_050 / 256 * 128, 22_050)  # V1's four stages
MAX_REFIT_FRAMES = 60_000  # per layer; frames are taken at an even stride


def kept_share(share: float):
    """The rank rule that keeps `share` of a layer's output variance (rounded up to 8 channels)."""
    def rule(eigenvalues: torch.Tensor, channels: int, stage: int) -> int:
        cumulative = eigenvalues.cumsum(0) / eigenvalues.sum()
        return min(channels, -(-(int((cumulative < share).sum()) + 1) // 8) * 8)
    return rule


def fraction(of: float, stages=range(4)):
    """The rank rule r = `of` x C in the given stages, full rank elsewhere."""
    return lambda eigenvalues, channels, stage: int(channels * of) if stage in stages else channels


def per_stage(rules):
    """One rule per stage (None: full rank there)."""
    return lambda eigenvalues, channels, stage: rules[stage](eigenvalues, channels, stage) if rules[stage] else channels


VARIANTS = {
    "99.9 % of each layer's variance": kept_share(0.999),
    "99.5 %": kept_share(0.995),
    "99 %": kept_share(0.99),
    "98 %": kept_share(0.98),
    "95 %": kept_share(0.95),
    "half rank": fraction(0.5),
    "quarter rank": fraction(0.25),
    "quarter rank in stage 1 only": fraction(0.25, stages=(0,)),
    "99.9 % in stages 1-2 only": per_stage([kept_share(0.999), kept_share(0.999), None, None]),
}


def residual_convs(generator: nn.Module) -> list[tuple[str, nn.Conv1d, int]]:
    """(name, layer, stage) of V1's residual convolutions, in forward order."""
    per_stage_blocks = len(generator.resblocks) // len(generator.ups)
    return [(f"{b}.{group}.{i}", conv, b // per_stage_blocks) for b, block in enumerate(generator.resblocks)
            for i in range(len(block.convs1)) for group, conv in (("convs1", block.convs1[i]), ("convs2", block.convs2[i]))]


def output_statistics(generator: nn.Module, mels: list[torch.Tensor]) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Each residual convolution's output mean, principal directions and their variances (descending) over `mels`."""
    sums: dict[str, list] = {}

    def hook(name):
        def record(module, inputs, output):
            y = output[0].double()
            n, s1, s2 = sums.get(name, (0, 0.0, 0.0))
            sums[name] = [n + y.shape[1], s1 + y.sum(1), s2 + y @ y.T]
        return record

    handles = [conv.register_forward_hook(hook(name)) for name, conv, _ in residual_convs(generator)]
    with torch.inference_mode():
        for mel in mels:
            generator(mel)
    for handle in handles:
        handle.remove()
    stats = {}
    for name, (n, s1, s2) in sums.items():
        mean = s1 / n
        variances, directions = torch.linalg.eigh(s2 / n - torch.outer(mean, mean))
        stats[name] = (mean.float(), directions.flip(1).float(), variances.flip(0).clamp_min(0))
    return stats


def cost(conv: nn.Conv1d, rank: int) -> int:
    out_channels, in_channels, kernel = conv.weight.shape
    return rank * (in_channels * kernel + out_channels)


def worth_it(conv: nn.Conv1d, rank: int) -> bool:
    return cost(conv, rank) < 0.9 * conv.weight.numel()


def projected_pair(conv: nn.Conv1d, mean: torch.Tensor, directions: torch.Tensor, rank: int) -> nn.Sequential:
    """`conv` followed by the projection y -> mean + U U^T (y - mean) onto its top-`rank` output directions U, as a
    K-tap convolution to `rank` channels and a 1x1 convolution back."""
    basis = directions[:, :rank]
    narrow = nn.Conv1d(conv.in_channels, rank, conv.kernel_size[0], padding=conv.padding[0], dilation=conv.dilation[0])
    widen = nn.Conv1d(rank, conv.out_channels, 1)
    with torch.no_grad():
        narrow.weight.copy_(torch.einsum("or,oik->rik", basis, conv.weight))
        narrow.bias.copy_(basis.T @ (conv.bias - mean))
        widen.weight.copy_(basis[:, :, None])
        widen.bias.copy_(mean)
    return nn.Sequential(narrow, widen)


def low_rank_copy(generator: nn.Module, stats: dict, rule) -> tuple[nn.Module, float]:
    """A copy of `generator` with each residual convolution projected to the rank `rule` gives it (left whole where
    that saves under 10 %), and the copy's share of the residual stack's multiply-adds per second."""
    copied = copy.deepcopy(generator)
    full = kept = 0.0
    for name, conv, stage in residual_convs(generator):
        mean, directions, variances = stats[name]
        rank = rule(variances, conv.out_channels, stage)
        full += conv.weight.numel() * STAGE_RATES_HZ[stage]
        if worth_it(conv, rank):
            _replace(copied, name, projected_pair(conv, mean, directions, rank))
            kept += cost(conv, rank) * STAGE_RATES_HZ[stage]
        else:
            kept += conv.weight.numel() * STAGE_RATES_HZ[stage]
    return copied.eval(), kept / full


def _replace(generator: nn.Module, name: str, layer: nn.Module) -> None:
    block, group, index = name.split(".")
    getattr(generator.resblocks[int(block)], group)[int(index)] = layer


def _taps(x: torch.Tensor, conv: nn.Conv1d, step: int) -> torch.Tensor:
    """The (C_in K + 1, frames) inputs of `conv` at every `step`-th output frame of x (1, C_in, T), with a ones row."""
    kernel, dilation, padding = conv.kernel_size[0], conv.dilation[0], conv.padding[0]
    padded = F.pad(x[0], (padding, padding))
    frames = torch.arange(0, x.shape[-1], step)
    return torch.cat([padded[:, frames + k * dilation] for k in range(kernel)] + [torch.ones(1, len(frames))])


def reduced_rank_fit(conv: nn.Conv1d, inputs: list[torch.Tensor], targets: list[torch.Tensor], rank: int) -> nn.Sequential:
    """The rank-`rank` pair that best maps `inputs` (the compressed network's) to `targets` (V1's outputs of this
    layer): ridge regression towards V1's weights, then the projection onto the fitted outputs' top directions."""
    out_channels, in_channels, kernel = conv.weight.shape
    step = max(1, sum(x.shape[-1] for x in inputs) // MAX_REFIT_FRAMES)
    width = in_channels * kernel + 1
    gram, cross = torch.zeros(width, width, dtype=torch.float64), torch.zeros(out_channels, width, dtype=torch.float64)
    for x, y in zip(inputs, targets):
        z = _taps(x, conv, step)
        gram += (z @ z.T).double()
        cross += (y[0][:, torch.arange(0, x.shape[-1], step)] @ z.T).double()
    v1 = torch.cat([conv.weight.permute(0, 2, 1).reshape(out_channels, -1), conv.bias[:, None]], 1).double()
    ridge = 1e-3 * torch.trace(gram) / width * torch.eye(width, dtype=torch.float64)
    fitted = v1 + torch.linalg.solve(gram + ridge, (cross - v1 @ gram).T).T
    basis = torch.linalg.eigh(fitted @ gram @ fitted.T)[1][:, -rank:].flip(1)
    narrow_weights = (basis.T @ fitted).float()
    narrow = nn.Conv1d(in_channels, rank, kernel, padding=conv.padding[0], dilation=conv.dilation[0])
    widen = nn.Conv1d(rank, out_channels, 1, bias=False)
    with torch.no_grad():
        narrow.weight.copy_(narrow_weights[:, :-1].reshape(rank, kernel, in_channels).permute(0, 2, 1))
        narrow.bias.copy_(narrow_weights[:, -1])
        widen.weight.copy_(basis.float()[:, :, None])
    return nn.Sequential(narrow, widen)


@torch.inference_mode()
def refitted_copy(generator: nn.Module, stats: dict, rule, mels: list[torch.Tensor]) -> nn.Module:
    """Like low_rank_copy's ranks, each layer fitted in forward order on the compressed layers' own outputs."""
    copied = copy.deepcopy(generator)
    per_stage_blocks = len(generator.resblocks) // len(generator.ups)
    teacher = [generator.conv_pre(mel) for mel in mels]
    student = [x.clone() for x in teacher]
    for stage in range(len(generator.ups)):
        teacher = [generator.ups[stage](F.leaky_relu(x, SLOPE)) for x in teacher]
        student = [copied.ups[stage](F.leaky_relu(x, SLOPE)) for x in student]
        teacher_sum, student_sum = [0.0] * len(mels), [0.0] * len(mels)
        for b in range(stage * per_stage_blocks, (stage + 1) * per_stage_blocks):
            t, s = teacher, student
            for i in range(len(generator.resblocks[b].convs1)):
                t_out, s_out = t, s
                for group in ("convs1", "convs2"):
                    conv = getattr(generator.resblocks[b], group)[i]
                    t_in, s_in = [F.leaky_relu(x, SLOPE) for x in t_out], [F.leaky_relu(x, SLOPE) for x in s_out]
                    t_out = [conv(x) for x in t_in]
                    rank = rule(stats[f"{b}.{group}.{i}"][2], conv.out_channels, stage)
                    if worth_it(conv, rank):
                        _replace(copied, f"{b}.{group}.{i}", reduced_rank_fit(conv, s_in, t_out, rank))
                    s_out = [getattr(copied.resblocks[b], group)[i](x) for x in s_in]
                t, s = [x + y for x, y in zip(t, t_out)], [x + y for x, y in zip(s, s_out)]
            teacher_sum = [a + x for a, x in zip(teacher_sum, t)]
            student_sum = [a + x for a, x in zip(student_sum, s)]
        teacher = [x / per_stage_blocks for x in teacher_sum]
        student = [x / per_stage_blocks for x in student_sum]
    return copied.eval()


def real_recordings(data: Path) -> list[Path]:
    """The real LibriSpeech / VCTK recordings of ../shared/data (never VCC 2016), in manifest order."""
    with open(data / "manifest.csv", newline="") as f:
        return [data / r["path"] for r in csv.DictReader(f) if r["label"] == "bonafide" and r["source"] in CALIBRATION_SOURCES]


def evenly(paths: list[Path], n: int) -> list[Path]:
    """n of `paths`, taken at an even stride."""
    return paths[:: max(1, len(paths) // n)][:n]


def calibration_recordings(data: Path, n: int) -> list[Path]:
    return evenly(real_recordings(data), n)


def mel_of(vocoder: HiFiGAN, path: Path) -> torch.Tensor:
    wav, _ = audio.load(path, 16_000)
    return vocoder.mel(torch.from_numpy(audio.resample(wav, 16_000, vocoder.sample_rate))[None])


@torch.inference_mode()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data")
    parser.add_argument("--calibration", type=int, default=16, help="real recordings whose outputs set each layer's directions")
    parser.add_argument("--recordings", type=int, default=8, help="VCC 2016 recordings judged")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--refit", action="store_true", help="fit each layer on the compressed layers' own inputs instead")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds (medians)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if min(args.calibration, args.recordings, args.rounds) < 1:
        parser.error("--calibration, --recordings and --rounds need at least 1")
    if not (args.data / "manifest.csv").is_file():
        raise SystemExit(f"error: {args.data / 'manifest.csv'} not found (--data DIR)")
    torch.set_num_threads(2)
    vocoder = HiFiGAN(precision="fp32", fft_convolution=False)  # direct layers to copy from; the FFT path is swapped in below
    v1 = vocoder.generator
    mels = [mel_of(vocoder, path) for path in calibration_recordings(args.data, args.calibration)]
    stats = output_statistics(v1, mels)
    models, shares = {"V1": copy.deepcopy(v1)}, {"V1": 1.0}
    for name in args.variants:
        models[name], shares[name] = low_rank_copy(v1, stats, VARIANTS[name])
        if args.refit:
            models[name] = refitted_copy(v1, stats, VARIANTS[name], mels)
        print(f"{name}: residual multiply-adds x{shares[name]:.3f}", flush=True)
    for model in models.values():
        use_fft_convolutions(model)
    torch.set_num_threads(1)
    scores = {name: [] for name in models}
    snr = {name: [] for name in models}
    for path in vcc_recordings(args.data, args.recordings):
        mel = mel_of(vocoder, path)
        reference = models["V1"](mel)[0, 0].numpy()
        for name, model in models.items():
            copy_ = model(mel)[0, 0].numpy()
            scores[name].append(distill_mos(copy_, vocoder.sample_rate))
            snr[name].append(10 * np.log10(np.sum(reference**2) / max(float(np.sum((copy_ - reference) ** 2)), 1e-20)))
        print(path.name, " ".join(f"{scores[name][-1]:.2f}" for name in models), flush=True)
    mel = torch.randn(1, 80, 430, generator=torch.Generator().manual_seed(0)) * 0.5 - 5  # 5 s of mel
    seconds = mel.shape[-1] * 256 / vocoder.sample_rate
    rtfs = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model(mel)
            rtfs[name].append((time.perf_counter() - start) / seconds)
    rows = {}
    for name in models:
        rtf = statistics.median(rtfs[name])
        rows[name] = {"residual_macs_share": round(shares[name], 3), "distillmos": round(float(np.mean(scores[name])), 3),
                      "snr_vs_v1_db": None if name == "V1" else round(float(np.mean(snr[name])), 1),
                      "rtf_one_thread": round(rtf, 3), "speedup_vs_v1": round(statistics.median(rtfs["V1"]) / rtf, 2)}
        print(f"{name:34s} MACs x{shares[name]:.3f}  DistillMOS {rows[name]['distillmos']:.3f}  SNR {rows[name]['snr_vs_v1_db']} dB  "
              f"RTF {rtf:.3f} ({rows[name]['speedup_vs_v1']}x)", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"recordings": args.recordings, "calibration": args.calibration, "refit": args.refit,
                                         "variants": rows}, indent=1))


if __name__ == "__main__":
    main()
