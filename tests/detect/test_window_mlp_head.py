"""The MLP head: one hidden layer on standardised window statistics, class-balanced, the mean of a few seeds."""

import numpy as np
import pytest

from detect.metrics import eer
from detect.window_mlp_head import MLPHeadSettings, WindowMLPHead


def interaction_windows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Spoof windows differ from real ones only in how two statistics move together (their product's sign), which
    no single weighted sum of the statistics can read; 1 in 4 windows is spoof, as real-heavy pools are."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 12)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0.3).astype(np.int64)
    return x, y


def test_learns_a_cue_a_linear_head_cannot_and_holds_out():
    from sklearn.linear_model import LogisticRegression

    x, y = interaction_windows(3000, seed=0)
    held_x, held_y = interaction_windows(1000, seed=1)
    head = WindowMLPHead(MLPHeadSettings(epochs=30, seeds=(0, 1))).fit(x, y)
    linear = LogisticRegression(class_weight="balanced").fit(x, y)
    mlp_eer, _ = eer(-head.decision_function(held_x[held_y == 0]), -head.decision_function(held_x[held_y == 1]))
    linear_eer, _ = eer(-linear.decision_function(held_x[held_y == 0]), -linear.decision_function(held_x[held_y == 1]))
    assert linear_eer > 0.35  # near chance: the cue is an interaction
    assert mlp_eer < 0.15
    # class balance: on held-out windows the two classes' median log-odds straddle zero, although 1 in 4 is spoof
    scores = head.decision_function(held_x)
    assert np.median(scores[held_y == 1]) > 0 > np.median(scores[held_y == 0])


def test_seeds_are_reproducible_and_averaged():
    x, y = interaction_windows(600, seed=2)
    settings = MLPHeadSettings(epochs=3, seeds=(0, 1))
    a, b = WindowMLPHead(settings).fit(x, y), WindowMLPHead(settings).fit(x, y)
    np.testing.assert_allclose(a.decision_function(x), b.decision_function(x), rtol=1e-5, atol=1e-5)
    one = WindowMLPHead(MLPHeadSettings(epochs=3, seeds=(0,))).fit(x, y)
    two = WindowMLPHead(MLPHeadSettings(epochs=3, seeds=(1,))).fit(x, y)
    np.testing.assert_allclose(a.decision_function(x), (one.decision_function(x) + two.decision_function(x)) / 2, rtol=1e-4, atol=1e-4)


def test_refuses_one_class_or_empty_settings():
    x, y = interaction_windows(100, seed=3)
    with pytest.raises(ValueError, match="both classes"):
        WindowMLPHead().fit(x, np.zeros_like(y))
    with pytest.raises(ValueError, match="seed"):
        WindowMLPHead(MLPHeadSettings(seeds=()))


def rare_page_windows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spoof windows from a common page and a rare one (1 in 20 of them) whose cue points elsewhere: a head fitted for
    the average window can sacrifice the rare page, one fitted for its worst group cannot."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (rng.random(n) < 0.5).astype(np.int64)
    group = np.where(y == 1, np.where(rng.random(n) < 0.05, "rare", "common"), "real")
    x[:, 0] += np.where(y == 1, 1.5, -1.5)
    x[group == "rare", 0] -= 3.0
    x[group == "rare", 1] += 3.0
    return x, y, group


def test_group_dro_lifts_the_worst_group():
    x, y, group = rare_page_windows(2000, seed=0)
    held_x, _, held_group = rare_page_windows(4000, seed=1)
    settings = MLPHeadSettings(epochs=10, seeds=(0,))
    plain = WindowMLPHead(settings).fit(x, y)
    robust = WindowMLPHead(MLPHeadSettings(epochs=10, seeds=(0,), group_dro_eta=0.05)).fit(x, y, group)
    caught = lambda head: float((head.decision_function(held_x[held_group == "rare"]) > 0).mean())  # noqa: E731
    assert caught(robust) > caught(plain) + 0.2  # measured 0.40 -> 0.83 on the fitted windows
    with pytest.raises(ValueError, match="group DRO"):
        WindowMLPHead(settings).fit(x, y, group)
    with pytest.raises(ValueError, match="group DRO"):
        WindowMLPHead(MLPHeadSettings(group_dro_eta=0.05)).fit(x, y)


def test_sharpness_aware_gradient_is_taken_uphill_and_leaves_the_weights():
    """On L(w) = 2 w^2 from w = 1, SAM's gradient is L'(w + rho * sign(L'(w))) = 4 * (1 + rho); the weights stay at w."""
    import torch

    from detect.window_mlp_head import _sharpness_aware_gradient

    net = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    _sharpness_aware_gradient(net, lambda: 2 * (net(torch.ones(1, 1)) ** 2).sum(), rho=0.05)
    assert float(net.weight.detach()) == 1.0
    assert float(net.weight.grad) == pytest.approx(4 * 1.05)


def test_sharpness_aware_head_fits_differently_and_refuses_bad_settings():
    x, y = interaction_windows(3000, seed=4)
    held_x, held_y = interaction_windows(1000, seed=5)
    plain = WindowMLPHead(MLPHeadSettings(epochs=30, seeds=(0,))).fit(x, y)
    flat = WindowMLPHead(MLPHeadSettings(epochs=30, seeds=(0,), sam_rho=0.05)).fit(x, y)
    assert not np.allclose(plain.decision_function(held_x), flat.decision_function(held_x))
    flat_eer, _ = eer(-flat.decision_function(held_x[held_y == 0]), -flat.decision_function(held_x[held_y == 1]))
    assert flat_eer < 0.15  # it still learns the interaction (measured 0.09, as the plain head)
    with pytest.raises(ValueError, match="sam_rho"):
        WindowMLPHead(MLPHeadSettings(sam_rho=-0.1))
    with pytest.raises(ValueError, match="sam_rho"):
        WindowMLPHead(MLPHeadSettings(sam_rho=0.05, group_dro_eta=0.01))


def held_page_gap_and_eer(held_x: np.ndarray, held_y: np.ndarray, held_page: np.ndarray, head: WindowMLPHead) -> tuple[float, float]:
    """How far the page alone moves a held-out window's score (within each class, page 1 minus page 0), and the EER."""
    s = head.decision_function(held_x)
    gap = np.mean([s[(held_y == c) & (held_page == 1)].mean() - s[(held_y == c) & (held_page == 0)].mean() for c in (0, 1)])
    return float(gap), eer(-s[held_y == 0], -s[held_y == 1])[0]


def tied_page_windows(n: int, seed: int, tied: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two pages, each with its own recording signature (statistic 1); in training most of page 1's windows are spoof
    and most of page 0's real, so the signature passes for a synthesis cue; in the held-out windows page and class
    are independent. Statistic 0 is the real (weaker) cue."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    page = rng.integers(0, 2, n)
    y = (rng.random(n) < (np.where(page == 1, 0.85, 0.15) if tied else 0.5)).astype(np.int64)
    x[:, 0] += np.where(y == 1, 0.7, -0.7)
    x[:, 1] += np.where(page == 1, 1.0, -1.0)
    return x, y, page, np.char.add(page.astype(str), y.astype(str))


def test_source_adversary_unlearns_a_page_signature_that_passed_for_a_cue():
    x, y, _, groups = tied_page_windows(4000, seed=0, tied=True)
    held = tied_page_windows(4000, seed=1, tied=False)[:3]

    plain = held_page_gap_and_eer(*held, WindowMLPHead(MLPHeadSettings(epochs=20, seeds=(0,))).fit(x, y))
    adversarial = held_page_gap_and_eer(*held, WindowMLPHead(MLPHeadSettings(epochs=20, seeds=(0,), source_adversary=1.0)).fit(x, y, groups))
    assert adversarial[0] < 0.7 * plain[0]  # measured 1.58 -> 0.87: the page moves the score less
    assert adversarial[1] < plain[1] - 0.02  # measured 31.1 -> 26.8 % where page and class are independent
    with pytest.raises(ValueError, match="one class"):
        WindowMLPHead(MLPHeadSettings(epochs=1, seeds=(0,), source_adversary=1.0)).fit(x, y, np.where(y == 1, "a", "a"))
    with pytest.raises(ValueError, match="source_adversary"):
        WindowMLPHead(MLPHeadSettings(source_adversary=1.0, sam_rho=0.05))
    with pytest.raises(ValueError, match="groups"):
        WindowMLPHead(MLPHeadSettings(source_adversary=1.0)).fit(x, y)


def test_pages_mixed_within_a_class_stay_between_windows_of_that_class():
    import torch

    from detect.window_mlp_head import _mixed_within_class

    rng = np.random.default_rng(0)
    x = torch.as_tensor(rng.standard_normal((64, 3)).astype(np.float32))
    y = torch.as_tensor((np.arange(64) % 2).astype(np.float32))
    groups = torch.as_tensor(np.where(np.arange(64) % 2 == 1, np.arange(64) % 4, 9))  # spoof: pages 1 and 3; real: one page
    mixed = _mixed_within_class(x, y, groups, 0.1, torch.Generator().manual_seed(0))
    real, spoof = (y == 0).numpy(), (y == 1).numpy()
    np.testing.assert_array_equal(mixed[real].numpy(), x[real].numpy())  # one real page: no partner, nothing mixed
    moved = spoof & ~np.isclose(mixed.numpy(), x.numpy()).all(1)
    assert 0.25 < moved.mean() / spoof.mean() < 0.75  # about half of the windows with a partner are mixed
    for i in np.flatnonzero(moved):  # each on the segment to a spoof window of the other page
        others = np.flatnonzero(spoof & (groups.numpy() != groups.numpy()[i]))
        lam = [np.linalg.lstsq((x[i] - x[j]).numpy()[:, None], (mixed[i] - x[j]).numpy(), rcond=None) for j in others]
        assert min(np.linalg.norm((x[i] - x[j]).numpy() * fit[0][0] + x[j].numpy() - mixed[i].numpy()) for j, fit in zip(others, lam)) < 1e-4
    with pytest.raises(ValueError, match="mix_pages"):
        WindowMLPHead(MLPHeadSettings(mix_pages=0.1, sam_rho=0.05))
    with pytest.raises(ValueError, match="groups"):
        WindowMLPHead(MLPHeadSettings(mix_pages=0.1)).fit(np.zeros((4, 2)), np.array([0, 1, 0, 1]))


def test_page_mixing_head_still_learns_its_cue():
    x, y, _, groups = tied_page_windows(4000, seed=0, tied=False)
    held_x, held_y, _, _ = tied_page_windows(2000, seed=1, tied=False)
    head = WindowMLPHead(MLPHeadSettings(epochs=10, seeds=(0,), mix_pages=0.1)).fit(x, y, groups)
    s = head.decision_function(held_x)
    assert eer(-s[held_y == 0], -s[held_y == 1])[0] < 0.30  # the class cue is still read (measured 0.244; Bayes limit 0.242)


def test_page_bagging_gives_each_seed_its_own_pages_of_each_class():
    from detect.window_mlp_head import bagged_rows

    groups = np.repeat(np.arange(10), 5)  # ten pages of five windows: 0-3 real, 4-9 spoof
    y = (groups >= 4).astype(np.float32)
    draws = [set(groups[bagged_rows(y, groups, 0.3, seed)]) for seed in range(4)]
    for kept in draws:
        assert len(kept & {0, 1, 2, 3}) == 3 and len(kept & {4, 5, 6, 7, 8, 9}) == 4  # round(0.7 x 4), round(0.7 x 6)
    assert len({frozenset(k) for k in draws}) > 1  # seeds draw differently
    assert draws[0] == set(groups[bagged_rows(y, groups, 0.3, 0)])  # and the same seed the same way
    assert set(groups[bagged_rows(y, groups, 0.9, 0)]) & {0, 1, 2, 3}  # never a class left without a page
    with pytest.raises(ValueError, match="page_bagging"):
        WindowMLPHead(MLPHeadSettings(page_bagging=1.0))
    with pytest.raises(ValueError, match="groups"):
        WindowMLPHead(MLPHeadSettings(page_bagging=0.3)).fit(np.zeros((4, 2)), np.array([0, 1, 0, 1]))


def test_bagged_seeds_differ_and_still_learn_the_cue():
    x, y, _, groups = tied_page_windows(4000, seed=0, tied=False)
    held_x, held_y, _, _ = tied_page_windows(2000, seed=1, tied=False)
    settings = MLPHeadSettings(epochs=10, seeds=(0, 1))
    plain = WindowMLPHead(settings).fit(x, y)
    bagged = WindowMLPHead(MLPHeadSettings(epochs=10, seeds=(0, 1), page_bagging=0.3)).fit(x, y, groups)
    s = bagged.decision_function(held_x)
    assert eer(-s[held_y == 0], -s[held_y == 1])[0] < 0.30
    assert not np.allclose(s, plain.decision_function(held_x))  # fitted on fewer pages, so not the plain head


def test_page_intercepts_leave_the_page_signature_to_the_offsets():
    x, y, page, _ = tied_page_windows(4000, seed=0, tied=True)
    held = tied_page_windows(4000, seed=1, tied=False)[:3]

    plain = held_page_gap_and_eer(*held, WindowMLPHead(MLPHeadSettings(epochs=20, seeds=(0,))).fit(x, y))
    offsets = held_page_gap_and_eer(*held, WindowMLPHead(MLPHeadSettings(epochs=20, seeds=(0,), page_intercepts=True)).fit(x, y, page.astype(str)))
    assert offsets[0] < 0.5 * plain[0]  # measured 1.58 -> 0.18: the page's offset, not the network, takes up its class share
    assert offsets[1] < plain[1] - 0.02  # measured 31.1 -> 24.5 % where page and class are independent
    # a page of one class gets no offset: with every page single-class the head fits as without offsets
    one_class_pages = np.where(y == 1, "fakes", "reals")
    alone = WindowMLPHead(MLPHeadSettings(epochs=2, seeds=(0,), page_intercepts=True)).fit(x, y, one_class_pages).decision_function(held[0])
    assert np.allclose(alone, WindowMLPHead(MLPHeadSettings(epochs=2, seeds=(0,))).fit(x, y).decision_function(held[0]), atol=1e-5)
    with pytest.raises(ValueError, match="groups"):
        WindowMLPHead(MLPHeadSettings(page_intercepts=True)).fit(x, y)


def test_offsets_for_single_class_pages_absorb_what_those_pages_teach():
    x, y, _, _ = tied_page_windows(2000, seed=0, tied=False)
    held_x, held_y, _, _ = tied_page_windows(2000, seed=1, tied=False)
    one_class_pages = np.where(y == 1, "fakes", "reals")  # each page one class: its offset alone can fit it

    def class_gap(head: WindowMLPHead) -> float:
        s = head.decision_function(held_x)
        return float(s[held_y == 1].mean() - s[held_y == 0].mean())

    settings = dict(epochs=20, seeds=(0,), page_intercepts=True)
    kept_out = class_gap(WindowMLPHead(MLPHeadSettings(**settings)).fit(x, y, one_class_pages))
    absorbed = class_gap(WindowMLPHead(MLPHeadSettings(**settings, single_class_offsets=True)).fit(x, y, one_class_pages))
    assert absorbed < 0.5 * kept_out  # measured 1.33 -> 0.58: the offsets take the class, the network learns less of its cue
    with pytest.raises(ValueError, match="page_intercepts"):
        WindowMLPHead(MLPHeadSettings(single_class_offsets=True))
