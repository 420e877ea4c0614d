"""One rule for `--device`: "auto" means the GPU when there is one, else the CPU; any other name is taken as given."""

from __future__ import annotations

import torch


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
