"""A small nonlinear head on window statistics: does a hidden layer find cues the logistic head cannot?

The shipped heads are linear (standardised window statistics -> one logistic unit, heavily regularised). A linear
unit can only weigh each statistic on its own; a hidden layer can learn combinations ("this band's spread matters
only when that channel's mean is low"). It can as easily learn a page's quirks, so it is judged by leave-one-source-out
(`recipes/detector_v2/fusion_loso.py --head mlp`), not by fit. Small on purpose: one hidden layer of 64 units,
dropout on the input and the hidden layer, weight decay, a fixed number of epochs (no early stopping on the held-out
page), the mean of a few seeds' log-odds. The inputs are expected standardised (the study's StandardScaler).
Six other ways of training it exist for the studies (group DRO, sharpness-aware steps, a source adversary, pages
mixed within a class, each seed on its own draw of pages, an offset per page; each off by default, none shipped: recipes/detector_v2/README.md
says what each did).
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
    sam_rho: float = 0.0  # > 0: sharpness-aware steps (Foret et al. 2021): each gradient taken at the batch's worst point within this radius
    source_adversary: float = 0.0  # > 0: the hidden units trained against an adversary naming each window's group within its class, at this weight
    mix_pages: float = 0.0  # > 0: half the windows of a batch mixed with a window of their class from another group, weights ~ Beta(this, this)
    page_bagging: float = 0.0  # > 0: each seed's network fits without this share of each class's groups (pages), drawn from its seed
    page_intercepts: bool = False  # True: each group (page) holding both classes gets its own free log-odds offset in training; none at scoring
    single_class_offsets: bool = False  # with page_intercepts: groups of one class get an offset too


OFFSET_LR = 0.05  # page_intercepts: a page's offset may need +-2 log-odds within the first epochs; Adam moves it ~lr a step
TRAINING_WAYS = ("group_dro_eta", "sam_rho", "source_adversary", "mix_pages", "page_bagging", "page_intercepts")  # MLPHeadSettings' alternatives to plain steps, one at a time


def _network(dims: int, s: MLPHeadSettings) -> nn.Module:
    return nn.Sequential(nn.Dropout(s.input_dropout), nn.Linear(dims, s.hidden), nn.GELU(), nn.Dropout(s.dropout), nn.Linear(s.hidden, 1))


class WindowMLPHead:
    """fit(x, y with 1 = spoof) -> decision_function(x): spoof log-odds (sklearn's sign), the mean over seeds."""

    def __init__(self, settings: MLPHeadSettings = MLPHeadSettings()) -> None:
        if settings.hidden < 1 or settings.epochs < 1 or not settings.seeds:
            raise ValueError("the MLP head needs hidden >= 1, epochs >= 1 and at least one seed")
        ways = {name: getattr(settings, name) for name in TRAINING_WAYS}
        if any(value < 0 for value in ways.values()):
            raise ValueError(f"{', '.join(name for name, value in ways.items() if value < 0)} must be >= 0")
        if settings.single_class_offsets and not settings.page_intercepts:
            raise ValueError("single_class_offsets gives pages of one class an offset too: it needs page_intercepts")
        if settings.page_bagging >= 1:
            raise ValueError("page_bagging is the share of pages each seed leaves out: below 1")
        if sum(value > 0 for value in ways.values()) > 1:
            raise ValueError(f"{' and '.join(name for name, value in ways.items() if value > 0)}: at most one way of training the head at a time")
        self.settings = settings

    def fit(self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> "WindowMLPHead":
        """`groups` (one label per window, e.g. its source and class; each group of one class) is read only with
        group_dro_eta > 0, source_adversary > 0, mix_pages > 0 or page_bagging > 0; with page_intercepts, one label per
        page (its source), whatever the class."""
        x_t = torch.as_tensor(np.asarray(x, dtype=np.float32))
        y_t = torch.as_tensor(np.asarray(y, dtype=np.float32))
        if set(np.unique(y).tolist()) != {0.0, 1.0}:
            raise ValueError("the MLP head needs windows of both classes")
        s = self.settings
        if (s.group_dro_eta > 0 or s.source_adversary > 0 or s.mix_pages > 0 or s.page_bagging > 0 or s.page_intercepts) != (groups is not None):
            raise ValueError("group DRO, the source adversary, page mixing, page bagging and page intercepts need the windows' groups, and groups are read only by them")
        group_ids = torch.as_tensor(np.unique(groups, return_inverse=True)[1].ravel()) if groups is not None else None
        if s.page_bagging > 0:  # each seed on its own draw of pages, its classes weighed the same within it
            self.networks_ = []
            for seed in s.seeds:
                rows = torch.as_tensor(bagged_rows(y_t.numpy(), group_ids.numpy(), s.page_bagging, seed))
                self.networks_.append(self._fit_one(x_t[rows], y_t[rows], _balanced_weights(y_t[rows]), seed, None))
            return self
        weight = _balanced_weights(y_t)
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
        if s.source_adversary > 0:
            adversary = _GroupAdversary(net, y, group_ids, n_groups, s.source_adversary)
            optimiser.add_param_group({"params": adversary.names.parameters()})
        offset = _PageOffsets(y, group_ids, n_groups, s.single_class_offsets) if s.page_intercepts else None
        if offset is not None:
            optimiser.add_param_group({"params": [offset.value], "weight_decay": 0.0, "lr": OFFSET_LR})  # Adam moves each by ~lr a step
        net.train()
        for _ in range(s.epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), s.batch):
                idx = order[start : start + s.batch]
                xb = _mixed_within_class(x[idx], y[idx], group_ids[idx], s.mix_pages, generator) if s.mix_pages > 0 else x[idx]
                shift = (lambda: offset(group_ids[idx])) if offset is not None else (lambda: 0.0)  # noqa: E731  the page's offset, in training only
                batch_loss = lambda: (loss_fn(net(xb).squeeze(1) + shift(), y[idx]) * weight[idx]).sum() / weight[idx].sum()  # noqa: E731
                optimiser.zero_grad()
                if s.source_adversary > 0:
                    (batch_loss() + adversary.loss(x[idx], y[idx], group_ids[idx])).backward()
                elif s.group_dro_eta > 0:  # each group (one class, one source) starts with the same weight: no class weighting on top
                    _worst_group_loss(loss_fn(net(x[idx]).squeeze(1), y[idx]), group_ids[idx], log_q, s.group_dro_eta, n_groups).backward()
                elif s.sam_rho > 0:
                    _sharpness_aware_gradient(net, batch_loss, s.sam_rho)
                else:
                    batch_loss().backward()
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


class _GroupAdversary(nn.Module):
    """A linear unit per group reading the head's hidden layer, asked which group (e.g. training page) a window comes
    from among the groups of its own class; its loss reaches the hidden layer with the sign reversed and times
    `weight` (Ganin et al. 2016), so the hidden units unlearn what tells the pages apart within a class, and not the class."""

    def __init__(self, net: nn.Module, y: torch.Tensor, group_ids: torch.Tensor, n_groups: int, weight: float) -> None:
        super().__init__()
        self.hidden_of = net[:3]  # input dropout, hidden layer, GELU: the network's own modules, shared
        self.names = nn.Linear(net[1].out_features, n_groups)
        group_class = torch.zeros(n_groups).scatter_(0, group_ids, y)  # any window's class stands for its group's ...
        if not torch.equal(group_class[group_ids], y):  # ... when every group holds one class
            raise ValueError("each group given to the source adversary must hold windows of one class")
        self.register_buffer("group_class", group_class)
        self.weight = weight

    def loss(self, x: torch.Tensor, y: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
        hidden = self.hidden_of(x)
        reversed_hidden = (1 + self.weight) * hidden.detach() - self.weight * hidden  # value: hidden; gradient: -weight x
        logits = self.names(reversed_hidden).masked_fill(self.group_class[None, :] != y[:, None], float("-inf"))
        return nn.functional.cross_entropy(logits, groups)


class _PageOffsets(nn.Module):
    """A free log-odds offset per page that holds windows of both classes, added in training only (a fixed-effects
    logit): the network then gains nothing by learning a page's class share or whatever marks the page as a whole,
    only what tells its real windows from its synthetic ones. Pages of one class keep offset 0 (an offset of their
    own would absorb all they teach) unless `single_class` gives them one too."""

    def __init__(self, y: torch.Tensor, group_ids: torch.Tensor, n_groups: int, single_class: bool = False) -> None:
        super().__init__()
        spoof = torch.zeros(n_groups).index_add_(0, group_ids, y)
        windows = torch.bincount(group_ids, minlength=n_groups).float()
        self.register_buffer("both_classes", torch.ones(n_groups) if single_class else ((spoof > 0) & (spoof < windows)).float())
        self.value = nn.Parameter(torch.zeros(n_groups))

    def forward(self, groups: torch.Tensor) -> torch.Tensor:
        return (self.value * self.both_classes)[groups]


def _balanced_weights(y: torch.Tensor) -> torch.Tensor:
    """Each class weighs the same in the loss, as the logistic head's class_weight="balanced"."""
    spoof_share = float(y.mean())
    return torch.where(y == 1, 0.5 / spoof_share, 0.5 / (1 - spoof_share))


def bagged_rows(y: np.ndarray, group_ids: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Indices of the windows whose group survives a draw that leaves out `share` of each class's groups (at least one
    group of each class is kept): bagging over pages, so that seeds differ in which pages their cues come from."""
    rng = np.random.default_rng([seed, 7919])
    kept = []
    for label in (0.0, 1.0):
        groups = np.unique(group_ids[y == label])
        n_keep = max(1, int(round(len(groups) * (1 - share))))
        kept.extend(rng.choice(groups, size=n_keep, replace=False).tolist())
    return np.flatnonzero(np.isin(group_ids, kept))


def _mixed_within_class(x: torch.Tensor, y: torch.Tensor, groups: torch.Tensor, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """A batch in which each window, with probability 1/2, is mixed with a random window of the batch of the same class
    and another group: lam x + (1 - lam) x', lam ~ Beta(alpha, alpha) (MixStyle, Zhou et al. 2021, on window statistics):
    new pages between the training pages, each of one class. Windows without such a partner stay as they are."""
    n = len(x)
    partner_ok = (y[:, None] == y[None, :]) & (groups[:, None] != groups[None, :])
    draw = torch.rand(n, n, generator=generator).masked_fill(~partner_ok, -1.0)
    partner = draw.argmax(1)
    mixed = (torch.rand(n, generator=generator) < 0.5) & partner_ok.any(1)
    lam = torch.as_tensor(np.random.default_rng(int(torch.randint(2**31, (1,), generator=generator))).beta(alpha, alpha, (n, 1)), dtype=x.dtype)
    return torch.where(mixed[:, None], lam * x + (1 - lam) * x[partner], x)


def _sharpness_aware_gradient(net: nn.Module, batch_loss, rho: float) -> None:
    """Leave in each parameter's .grad the loss's gradient at w + rho * g / |g| (g: the gradient at w), the weights
    themselves unchanged: the step then lowers the worst loss near w, not only the loss at w (SAM's first-order form)."""
    batch_loss().backward()
    params = [p for p in net.parameters() if p.grad is not None]
    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in params))
    if not torch.isfinite(norm) or norm == 0:
        return
    with torch.no_grad():
        at_w = [p.detach().clone() for p in params]
        for p in params:
            p.add_(p.grad * (rho / norm))
    net.zero_grad()
    batch_loss().backward()
    with torch.no_grad():
        for p, w in zip(params, at_w):
            p.copy_(w)


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
