"""Uniform averaging of converter weights fine-tuned from one starting point (a "model soup" / checkpoint average).

Checkpoints of one run, or runs from the same initialisation, often sit in one basin of the loss: their mean can be
better than any of them, at no training cost. Averaging weights of unrelated runs gives nonsense: the files must
share a starting point (the caller's duty; the files record their stages, not their lineage) and build the same
network (checked).
"""

from __future__ import annotations

import os
from typing import Sequence

import torch

from voice.converter.network import MelGenerator
from voice.converter.weights import load_weights
from voxtwin.errors import CheckpointError


def average_weights(paths: Sequence[str | os.PathLike]) -> tuple[MelGenerator, dict]:
    """(network holding the element-wise mean of the files' weights, info naming its parts).

    Raises CheckpointError when fewer than two files are given or their networks differ in config.
    """
    if len(paths) < 2:
        raise CheckpointError("averaging needs at least two converter weights files")
    models, infos = zip(*(load_weights(p) for p in paths))
    first = models[0]
    for path, model in zip(paths[1:], models[1:]):
        if model.config != first.config:
            raise CheckpointError(f"{path}: its network differs from {paths[0]}'s; only weights of one network can be averaged")
    states = [m.state_dict() for m in models]
    mean = {}
    for name, tensor in states[0].items():
        if torch.is_floating_point(tensor):
            mean[name] = torch.stack([s[name].float() for s in states]).mean(0)
        else:  # counters and other integer buffers: identical by construction; keep the first
            mean[name] = tensor
    first.load_state_dict(mean)
    info = {"averaged_from": [os.path.basename(os.fspath(p)) for p in paths], "parts": [dict(i) for i in infos]}
    return first.eval(), info
