"""One rule for `--device`: "auto" means the GPU when there is one, else the CPU; "cpu", "cuda" and "cuda:N" are
taken as given once checked, so a typo or a missing GPU is one clear error instead of a traceback deep in torch."""

from __future__ import annotations

import re

import torch

from voxtwin.errors import VoxtwinError

DEVICE_NAMES = "auto, cpu, cuda or cuda:N"


class DeviceError(VoxtwinError):
    """A device name torch does not know, or a GPU this machine does not have."""


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if isinstance(device, torch.device):
        device = str(device)
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", name)
    if match is None:
        raise DeviceError(f"unknown device {device!r}; use {DEVICE_NAMES}")
    if not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} asked for, but this machine has no usable CUDA GPU; use --device cpu or auto")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise DeviceError(f"device {device!r} asked for, but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return torch.device(name)
