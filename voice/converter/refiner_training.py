"""Train the flow-matching mel refiner (mel_refiner.py) behind frozen converter weights, on the cached features.
Resumable.

Each step cuts crops as the generator's training does (half of them with the speaker-perturbed content, so the
generator's mel carries the errors conversion makes), runs the frozen generator on them and fits the refiner's
velocity towards the true mel. Validation speakers (by hash, as every stage) are never trained on; the kept weights
are those with the lowest flow-matching loss on them, measured with fixed noise and times.

With `content_weight` > 0 (fine-tuning a trained refiner, `init`), each step also converts every crop into the next
crop's speaker (as the generator's content stage does, adversarial.converted_inputs), refines that mel along the
whole path inference takes (start noise at `content_temperature`, every Euler step, the postfilter at
`content_gain`) and lets Whisper's encoder (whisper_judge.py) compare its frames, and those of the refined
reconstruction, with the real mel's: the refiner's sampled detail alone lost words (MODEL_CARD.md). Flow-matching
loss no longer measures what this stage improves, so it writes OUT/refiner-STEP.safetensors at every validation
instead of keeping a best.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from voice.converter.adversarial import converted_inputs
from voice.converter.mel_refiner import MelRefiner, RefinerConfig, flow_matching_loss, load_refiner, refiner_frames, save_refiner
from voice.converter.postfilter import restore_variance
from voice.converter.stage_settings import StageSettings, warmup_cosine
from voice.converter.training import CachedCorpus, save_state, split_files
from voice.converter.weights import load_weights
from voice.pretrained.store import sha256_of

log = logging.getLogger(__name__)


@dataclass
class RefinerSettings(StageSettings):
    steps: int = 6000
    learning_rate: float = 1e-3
    warmup_steps: int = 200
    validate_every: int = 250
    checkpoint_every: int = 100
    crop_frames: int = 128
    perturbed_share: float = 0.5
    reads_frames: bool = False  # condition the refiner on the generator's content and pitch frames too
    seed: int = 4
    refiner: dict = field(default_factory=dict)
    init: str = ""  # start from these refiner weights (trained behind the same generator)
    content_weight: float = 0.0  # > 0: the Whisper content term on refined conversions and reconstructions
    content_temperature: float = 0.5  # the start noise the content term refines from (as inference is measured)
    content_gain: float = 1.2  # the postfilter gain applied before Whisper judges (as `convert` runs)

    def __post_init__(self) -> None:
        if self.content_weight > 0 and not self.init:
            raise ValueError("the refiner's content term fine-tunes a trained refiner: give its weights (init)")


def content_term(refiner: MelRefiner, generator, judge, content, pitch, mel, speaker, frames, settings: RefinerSettings,
                 noise: torch.Generator, *, by_utterance: bool) -> torch.Tensor:
    """L1 between Whisper's frames of the real mel and of the refined reconstruction and conversion (into the next
    crop's voice), both refined along the full inference path and postfiltered."""
    converted_pitch, target_speaker = converted_inputs(pitch, speaker)
    with torch.no_grad():
        target = judge(mel)
        coarse = torch.cat([generator(content, pitch, speaker, normalized=by_utterance), generator(content, converted_pitch, target_speaker, normalized=by_utterance)])
        both_frames = None if frames is None else torch.cat([frames, refiner_frames(refiner, generator, content, converted_pitch, normalized=by_utterance)])
    speakers = torch.cat([speaker, target_speaker])
    start = refiner.start(coarse, noise, temperature=settings.content_temperature)
    refined = restore_variance(refiner.integrate(start, coarse, speakers, both_frames), settings.content_gain)
    return F.l1_loss(judge(refined), target.repeat(2, 1, 1))


@torch.no_grad()
def validation_loss(refiner: MelRefiner, generator, corpus: CachedCorpus, device: torch.device, *, draws: int = 4) -> float:
    """Mean flow-matching loss over the validation recordings, `draws` fixed (noise, time) draws each."""
    refiner.eval()
    losses = []
    noise = torch.Generator().manual_seed(1234)
    for item in corpus.items:
        content, pitch, mel, speaker = corpus.whole(item, device)
        coarse = generator(content, pitch, speaker, normalized=corpus.utterance_norm)
        frames = refiner_frames(refiner, generator, content, pitch, normalized=corpus.utterance_norm)
        for _ in range(draws):
            losses.append(flow_matching_loss(refiner, coarse, mel, speaker, frames, generator=noise).item())
    refiner.train()
    return float(np.mean(losses))


def train_refiner(cache: Path, generator_weights: Path, out_dir: Path, settings: RefinerSettings, *, judge: torch.nn.Module | None = None) -> Path:
    """Train into OUT (refiner_last.pt, refiner_history.json); returns OUT/refiner-best.safetensors (with the content
    term: OUT/refiner-STEPS.safetensors). `judge` (whisper_judge.WhisperJudge) is required when content_weight > 0."""
    if settings.content_weight > 0 and judge is None:
        raise ValueError("content_weight > 0 needs a content judge")
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    generator, generator_info = load_weights(generator_weights)
    generator = generator.to(device).eval().requires_grad_(False)
    by_utterance = generator.config.content_norm == "utterance"
    train_files, val_files = split_files(cache, settings.validation_share)
    train_set, val_set = CachedCorpus(train_files, utterance_norm=by_utterance), CachedCorpus(val_files, utterance_norm=by_utterance)
    log.info("refiner: train %d files, validation %d files, behind %s", len(train_files), len(val_files), generator_weights.name)
    frame_dim = {"frame_dim": generator.frame_width} if settings.reads_frames else {}
    if settings.init:
        refiner, _ = load_refiner(settings.init, generator=generator_weights)
        refiner = refiner.to(device).train()
        if refiner.reads_frames != settings.reads_frames:
            raise ValueError(f"{settings.init}: its frame conditioning does not match reads_frames={settings.reads_frames}")
    else:
        refiner = MelRefiner(RefinerConfig(**{**settings.refiner, **frame_dim})).to(device)
    judge = judge.to(device) if judge is not None else None
    tuning = settings.content_weight > 0
    optimizer = torch.optim.AdamW(refiner.parameters(), lr=settings.learning_rate, weight_decay=1e-4)
    out_dir.mkdir(parents=True, exist_ok=True)
    state_path, history_path, best_path = out_dir / "refiner_last.pt", out_dir / "refiner_history.json", out_dir / "refiner-best.safetensors"
    generator_sha256 = sha256_of(generator_weights)
    step, best, history = 0, float("inf"), []
    if state_path.exists():
        state = torch.load(state_path, map_location=device, weights_only=True)
        if state.get("generator_sha256") != generator_sha256:
            raise ValueError(f"{state_path} was trained behind other converter weights than {generator_weights}")
        refiner.load_state_dict(state["refiner"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = int(state["step"]), float(state["best"])
        history = json.loads(history_path.read_text()) if history_path.exists() else []
        log.info("resumed the refiner at step %d (best validation loss %.4f)", step, best)
    rng = np.random.default_rng(settings.seed + step)
    noise = torch.Generator().manual_seed(settings.seed + step)
    started, running, running_content = time.time(), [], []
    while step < settings.steps:
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine(step, peak=settings.learning_rate, warmup_steps=settings.warmup_steps, steps=settings.steps)
        content, pitch, mel, speaker = (t.to(device) for t in train_set.batch(rng, settings.batch_size, settings.crop_frames, settings.perturbed_share))
        with torch.no_grad():
            coarse = generator(content, pitch, speaker, normalized=by_utterance)
            frames = refiner_frames(refiner, generator, content, pitch, normalized=by_utterance)
        loss = flow_matching_loss(refiner, coarse, mel, speaker, frames, generator=noise)
        running.append(loss.item())
        if tuning:
            content_l1 = content_term(refiner, generator, judge, content, pitch, mel, speaker, frames, settings, noise, by_utterance=by_utterance)
            running_content.append(content_l1.item())
            loss = loss + settings.content_weight * content_l1
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(refiner.parameters(), 1.0)
        optimizer.step()
        step += 1
        if step % settings.validate_every == 0 or step == settings.steps:
            val = validation_loss(refiner, generator, val_set, device) if val_set.items else float("nan")
            history.append({"step": step, "train_loss": float(np.mean(running)), "validation_loss": val, "seconds": round(time.time() - started, 1),
                            **({"content": float(np.mean(running_content))} if tuning else {})})
            log.info("refiner step %d: %s", step, history[-1])
            running, running_content = [], []
            extra = {"step": step, "validation_loss": round(val, 4), "generator": generator_weights.name, "generator_step": generator_info.get("step")}
            if tuning:
                save_refiner(refiner, out_dir / f"refiner-{step}.safetensors", generator_sha256=generator_sha256,
                             extra={**extra, "init": Path(settings.init).name, **{k: getattr(settings, k) for k in ("content_weight", "content_temperature", "content_gain")}})
            if val < best and not tuning:  # the content stage keeps every snapshot, no best by flow-matching loss
                best = val
                save_refiner(refiner, best_path, generator_sha256=generator_sha256, extra=extra)
            history_path.write_text(json.dumps(history, indent=1))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            save_state(state_path, {"refiner": refiner.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best": best, "generator_sha256": generator_sha256})
            (out_dir / "refiner_settings.json").write_text(json.dumps(asdict(settings), indent=1))
    return out_dir / f"refiner-{settings.steps}.safetensors" if tuning else best_path
