"""How much of the source speaker survives the converter's content path? A speaker-identification probe.

On the cached features of speakers with at least 4 utterances, a logistic-regression probe learns the speaker from
single frames of (a) Whisper's encoder output as is, (b) the same after per-utterance normalisation, (c) the
trained network's bottleneck output (normalisation + learned projection), and is tested on utterances it never saw
(one held out per speaker); an utterance's prediction is the mean of its frames' log-probabilities. Chance is
1 / speakers. Lower accuracy = less speaker in the content = the d-vector must supply the voice.

    python recipes/voice_converter/speaker_leak.py [--weights runs/voice_converter/model/best.safetensors]
"""

import argparse
import collections
import json
from pathlib import Path

import numpy as np
import torch

from voice.converter.network import MelGenerator
from voice.converter.weights import load_weights

HERE = Path(__file__).resolve().parent
FRAMES_PER_UTTERANCE = 60


def main() -> None:
    config = json.loads((HERE / "config.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(config["cache"]))
    parser.add_argument("--weights", type=Path, default=Path(config["out"]) / "best.safetensors")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    model, _ = load_weights(args.weights)
    by_speaker = collections.defaultdict(list)
    for path in sorted(args.cache.glob("*.npz")):
        with np.load(path) as z:
            by_speaker[str(z["speaker"])].append(z["content"].astype(np.float32))
    speakers = sorted(s for s, utts in by_speaker.items() if len(utts) >= 4)
    rng = np.random.default_rng(0)
    views = {
        "whisper frames": lambda c: c,
        "normalised per utterance": lambda c: MelGenerator.normalize_content(torch.from_numpy(c.T)[None])[0].T.numpy(),
        "bottleneck (trained)": lambda c: model.bottleneck(MelGenerator.normalize_content(torch.from_numpy(c.T)[None]))[0].T.detach().numpy(),
    }
    results = {}
    for name, view in views.items():
        train_x, train_y, tests = [], [], []
        for label, speaker in enumerate(speakers):
            utts = by_speaker[speaker]
            held = int(rng.integers(len(utts)))
            for i, content in enumerate(utts):
                frames = view(content)
                if i == held:
                    tests.append((label, frames))
                else:
                    pick = rng.choice(len(frames), size=min(FRAMES_PER_UTTERANCE, len(frames)), replace=False)
                    train_x.append(frames[pick])
                    train_y += [label] * len(pick)
        scaler = StandardScaler().fit(np.concatenate(train_x))
        probe = LogisticRegression(max_iter=400, C=1.0).fit(scaler.transform(np.concatenate(train_x)), train_y)
        correct = [int(np.argmax(probe.predict_log_proba(scaler.transform(frames)).mean(0)) == label) for label, frames in tests]
        results[name] = round(float(np.mean(correct)), 3)
        print(f"{name:28s} speaker-ID accuracy on held-out utterances {results[name]:.3f} (chance {1 / len(speakers):.3f}, {len(speakers)} speakers)", flush=True)
    print(json.dumps({"speakers": len(speakers), "chance": round(1 / len(speakers), 3), "accuracy": results}))


if __name__ == "__main__":
    main()
