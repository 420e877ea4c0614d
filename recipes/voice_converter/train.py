"""Train the built-in converter (vox-vc) on the cached features; resumes from OUT/last.pt.

    python recipes/voice_converter/prepare.py          # once: cache features (~4 min on 2 cores)
    python recipes/voice_converter/train.py [--steps N] [--device cuda] [--out runs/voice_converter/model]
    python recipes/voice_converter/train.py --adversarial   # then: fine-tune best.safetensors against a mel discriminator
    python recipes/voice_converter/train.py --bridge        # fit the mel bridge that Whisper's encoder reads the generator's mel through ...
    python recipes/voice_converter/train.py --content       # ... and fine-tune adversarial-STEPS on conversions, Whisper judging content
    (--content-judge probe: the earlier small probe instead, fitted by train.py --probe)
    python recipes/voice_converter/train.py --refiner       # a flow-matching mel refiner behind the shipped weights (--behind W; --refiner-frames: it also reads the content and pitch frames)
    python recipes/voice_converter/train.py --refiner --refiner-init R --content-weight W --out DIR   # ... fine-tuned with Whisper judging its refined conversions (needs --bridge)

The same command runs on a GPU (--device cuda, and a larger --batch-size if you like). To ship the result:
    python recipes/voice_converter/train.py --export [--adversarial | --content]  # copies best.safetensors (adversarial-STEPS, content-STEPS) into the package
"""

import argparse
import json
import logging
import shutil
from pathlib import Path

from voice.converter.adversarial import CONTENT_JUDGES, AdversarialSettings, finetune
from voice.converter.content_probe import ProbeSettings, load_probe, train_probe
from voice.converter.corpus import real_recordings
from voice.converter.network import CONTENT_NORMS
from voice.converter.refiner_training import RefinerSettings, train_refiner
from voice.converter.training import TrainSettings, train
from voice.converter.weights import SHIPPED, load_weights
from voice.converter.whisper_judge import WhisperJudge, fit_bridge_on_recordings, load_bridge

HERE = Path(__file__).resolve().parent


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(config["cache"]))
    parser.add_argument("--out", type=Path, default=Path(config["out"]))
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--device")
    parser.add_argument("--bottleneck", type=int, help="content bottleneck width (default: train.generator.bottleneck in config.json)")
    parser.add_argument("--init", type=Path, help="stage 1 starts from these converter weights instead of random ones (fine-tuning)")
    parser.add_argument("--learning-rate", type=float, help="stage 1's peak learning rate (default: train.learning_rate in config.json)")
    parser.add_argument("--content-norm", choices=CONTENT_NORMS, help="normalise Whisper's frames over each training crop or over the whole recording, as inference does (default: train.generator.content_norm in config.json)")
    parser.add_argument("--adversarial", action="store_true", help="the second stage: fine-tune OUT/best.safetensors against a mel discriminator")
    parser.add_argument("--probe", action="store_true", help="fit the content probe (OUT/content_probe.pt) that --content needs")
    parser.add_argument("--bridge", action="store_true", help="fit the HiFi-GAN -> Whisper mel bridge (OUT/whisper_bridge.json) on training speakers' audio in --data")
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "data", help="the corpus --bridge reads audio from (default ../shared/data)")
    parser.add_argument("--content", action="store_true", help="the third stage: fine-tune the adversarial result on conversions, with a content judge")
    parser.add_argument("--content-judge", choices=CONTENT_JUDGES, help="what judges the conversions' content (default: content.content_judge in config.json)")
    parser.add_argument("--content-weight", type=float, help="the content term's weight in stage 3 (default: content.content_weight in config.json)")
    parser.add_argument("--refiner", action="store_true", help="train the flow-matching mel refiner (voice/converter/mel_refiner.py) behind frozen converter weights into OUT/refiner-best.safetensors")
    parser.add_argument("--refiner-frames", action="store_true", help="with --refiner: condition it on the generator's content and pitch frames too, not only its mel")
    parser.add_argument("--refiner-init", type=Path, help="with --refiner: fine-tune these refiner weights; with --content-weight, Whisper judges the refined conversions")
    parser.add_argument("--judge-bridge", type=Path, default=Path(config["out"]) / "whisper_bridge.json", help="with --refiner --content-weight: the mel bridge train.py --bridge wrote")
    parser.add_argument("--behind", type=Path, default=SHIPPED, help="the converter weights the refiner is trained behind (default: the shipped vox-vc)")
    parser.add_argument("--export", action="store_true", help="copy the stage's result into the package and stop")
    args = parser.parse_args()
    if (args.refiner_frames or args.refiner_init) and not args.refiner:
        parser.error("--refiner-frames and --refiner-init go with --refiner")
    if args.refiner and args.content_weight and not args.refiner_init:
        parser.error("--refiner --content-weight fine-tunes a trained refiner: give it with --refiner-init")
    if args.bottleneck:
        config["train"]["generator"]["bottleneck"] = args.bottleneck
    if args.content_norm:
        config["train"]["generator"]["content_norm"] = args.content_norm
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = {k: v for k, v in {"steps": args.steps, "batch_size": args.batch_size, "threads": args.threads, "device": args.device}.items() if v is not None}
    adversarial = AdversarialSettings(**{**config["adversarial"], **overrides})
    content = AdversarialSettings(**{**config["content"], **overrides, **({"content_judge": args.content_judge} if args.content_judge else {}),
                                   **({"content_weight": args.content_weight} if args.content_weight else {})})
    probe_path, bridge_path = args.out / "content_probe.pt", args.out / "whisper_bridge.json"
    adversarial_result = args.out / f"adversarial-{AdversarialSettings(**config['adversarial']).steps}.safetensors"
    result = args.out / "best.safetensors"
    if args.adversarial:
        result = args.out / f"adversarial-{adversarial.steps}.safetensors"
    if args.content:
        result = args.out / f"content-{content.steps}.safetensors"
    if args.export:
        load_weights(result)  # refuses a damaged file before it is shipped
        SHIPPED.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result, SHIPPED)
        print(f"exported {result} -> {SHIPPED}")
        return
    settings = TrainSettings(**{**config["train"], **overrides, **({"init": str(args.init)} if args.init else {}),
                                **({"learning_rate": args.learning_rate} if args.learning_rate else {})})
    if not args.cache.is_dir() or not any(args.cache.glob("*.npz")):
        raise SystemExit(f"error: no cached features in {args.cache}: run recipes/voice_converter/prepare.py first")
    if args.adversarial:
        if not (args.out / "best.safetensors").is_file():
            raise SystemExit(f"error: {args.out / 'best.safetensors'} not found: run the L1 stage first")
        print(finetune(args.cache, args.out / "best.safetensors", args.out, adversarial))
        return
    if args.refiner:
        tuning = {"init": str(args.refiner_init), "content_weight": args.content_weight or 0.0} if args.refiner_init else {}
        judge = None
        if tuning.get("content_weight"):
            if not args.judge_bridge.is_file():
                raise SystemExit(f"error: {args.judge_bridge} not found: run train.py --bridge first")
            judge = WhisperJudge(load_bridge(args.judge_bridge))
        refiner = RefinerSettings(**{**config["refiner"], **(config["refiner_content"] if tuning else {}), **overrides, **tuning,
                                     **({"reads_frames": True} if args.refiner_frames else {})})
        print(train_refiner(args.cache, args.behind, args.out, refiner, judge=judge))
        return
    if args.probe:
        print(train_probe(args.cache, probe_path, ProbeSettings(**{**config["probe"], **overrides})))
        return
    if args.bridge:
        manifest = args.data / "manifest.csv"
        if not manifest.is_file():
            raise SystemExit(f"error: {manifest} not found: the bridge is fitted on ../shared/data's real speech (--data DIR)")
        recordings = real_recordings(manifest, exclude_sources=tuple(config["exclude_sources"]))
        bridge = fit_bridge_on_recordings(recordings, validation_share=settings.validation_share)
        args.out.mkdir(parents=True, exist_ok=True)
        bridge_path.write_text(json.dumps(bridge, indent=1))
        print(f"{bridge_path}: residual {bridge['residual_std']} (log10 power) on {bridge['frames']} frames")
        return
    if args.content:
        judge_file, judge_step = (bridge_path, "--bridge") if content.content_judge == "whisper" else (probe_path, "--probe")
        for needed, command in ((adversarial_result, "--adversarial"), (judge_file, judge_step)):
            if not needed.is_file():
                raise SystemExit(f"error: {needed} not found: run train.py {command} first")
        judge = WhisperJudge(load_bridge(bridge_path)).to(content.device) if content.content_judge == "whisper" else load_probe(probe_path, content.device)
        print(finetune(args.cache, adversarial_result, args.out, content, stage="content", probe=judge))
        return
    print(train(args.cache, args.out, settings))


if __name__ == "__main__":
    main()
