"""A small nonlinear head on window statistics: does a hidden layer find cues the logistic head cannot?

The shipped heads are linear (standardised window statistics -> one logistic unit, heavily regularised). A linear
unit can only weigh each statistic on its own; a hidden layer can learn combinations ("this band's spread matters
only when that channel's mean is low"). It can as easily learn a page's quirks, so it is judged by leave-one-source-out
(`recipes/detector_v2/fusion_loso.py --head mlp`), not by fit. Small on purpose: one hidden layer of 64 units,
dropout on the input and the hidden layer, weight decay, a fixed number of epochs (no early stopping on the held-out
page), the mean of a few seeds' log-odds. The inputs are expected standardised (the study's StandardScaler).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class MLPHeadSettings:
    hidden: int = 64
    input_dropout: float = 0.2
    dropout: float = 0.3
    lr: float = 1e-3
    weight_decay: float = 1e-2
    batch: int = 256
    epochs: int = 20
    seeds: tuple[int, ...] = (0, 1, 2)
    group_dro_eta: float = 0.0  # > 0: train for the worst group given to fit (online group DRO, Sagawa et al. 2020) at this step size


def _network(dims: int, s: MLPHeadSettings) -> nn.Module:
    return nn.Sequential(nn.Dropout(s.input_dropout), nn.Linear(dims, s.hidden), nn.GELU(), nn.Dropout(s.dropout), nn.Linear(s.hidden, 1))


class WindowMLPHead:
    """fit(x, y with 1 = spoof) -> decision_function(x): spoof log-odds (sklearn's sign), the mean over seeds."""

    def __init__(self, settings: MLPHeadSettings = MLPHeadSettings()) -> None:
        if settings.hidden < 1 or settings.epochs < 1 or not settings.seeds:
            raise ValueError("the MLP head needs hidden >= 1, epochs >= 1 and at least one seed")
        self.settings = settings

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> "WindowMLPHead":
        """`groups` (one label per window, e.g. its source and class) is read only with group_dro_eta > 0."""
        x_t = torch.as_tensor(np.asarray(x, dtype=np.float32))
        y_t = torch.as_tensor(np.asarray(y, dtype=np.float32))
        if set(np.unique(y).tolist()) != {0.0, 1.0}:
            raise ValueError("the MLP head needs windows of both classes")
        if (self.settings.group_dro_eta > 0) != (groups is not None):
            raise ValueError("group DRO needs both group_dro_eta > 0 and the windows' groups")
        # each class weighs the same in the loss, as the logistic head's class_weight="balanced"
        spoof_share = float(y_t.mean())
        weight = torch.where(y_t == 1, 0.5 / spoof_share, 0.5 / (1 - spoof_share))
        group_ids = torch.as_tensor(np.unique(groups, return_inverse=True)[1].ravel()) if groups is not None else None
        self.networks_ = [self._fit_one(x_t, y_t, weight, seed, group_ids) for seed in self.settings.seeds]
        return self

    def _fit_one(self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor, seed: int, group_ids: torch.Tensor | None) -> nn.Module:
        s = self.settings
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)  # the initial weights and dropout masks
        net = _network(x.shape[1], s)
        optimiser = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=s.weight_decay)
        loss_fn = nn.BCEWithLogitsLoss(reduction="none")
        n_groups = int(group_ids.max()) + 1 if group_ids is not None else 0
        log_q = torch.zeros(n_groups)  # group DRO's weights over groups, in logs
        net.train()
        for _ in range(s.epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), s.batch):
                idx = order[start : start + s.batch]
                losses = loss_fn(net(x[idx]).squeeze(1), y[idx])
                if group_ids is None:
                    loss = (losses * weight[idx]).sum() / weight[idx].sum()
                else:  # each group (one class, one source) starts with the same weight: no class weighting on top
                    loss = _worst_group_loss(losses, group_ids[idx], log_q, s.group_dro_eta, n_groups)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        return net.eval()

    @torch.inference_mode()
    def decision_function(self, x: np.ndarray) -> np.ndarray:
        x_t = torch.as_tensor(np.asarray(x, dtype=np.float32))
        return torch.stack([net(x_t).squeeze(1) for net in self.networks_]).mean(0).double().numpy()

    def bonafide_layers(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The seeds' networks as one (dropout being off at scoring): hidden weight (seeds x hidden, D), hidden bias,
        output weight (1, seeds x hidden), output bias (1,), whose output is the mean of the seeds' log-odds of bona
        fide (their spoof log-odds negated), exactly: the output layer is linear, so a mean of outputs is one output
        layer weighing each seed's units by 1 / seeds."""
        firsts = [net[1] for net in self.networks_]
        lasts = [net[4] for net in self.networks_]
        n = len(self.networks_)
        with torch.no_grad():
            return (torch.cat([f.weight for f in firsts]).clone(), torch.cat([f.bias for f in firsts]).clone(),
                    -torch.cat([g.weight for g in lasts], dim=1) / n, -torch.stack([g.bias for g in lasts]).mean(0))


def _worst_group_loss(losses: torch.Tensor, groups: torch.Tensor, log_q: torch.Tensor, eta: float, n_groups: int) -> torch.Tensor:
    """One step of online group DRO: the batch's mean loss per group raises that group's weight (q_g *= exp(eta *
    loss_g), `log_q` updated in place), and the loss is the q-weighted mean over the groups present in the batch."""
    counts = torch.bincount(groups, minlength=n_groups)
    present = counts > 0
    group_loss = torch.zeros(n_groups).index_add(0, groups, losses) / counts.clamp(min=1)
    log_q[present] += eta * group_loss[present].detach()
    log_q -= torch.logsumexp(log_q, 0)
    q = torch.exp(log_q) * present
    return (q * group_loss).sum() / q.sum()
