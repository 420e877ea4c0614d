"""Metrics against brute-force definitions on small score sets, and the official ASVspoof 2019 values."""

from pathlib import Path

import numpy as np
import pytest

from detect import metrics

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "asvspoof2019"


def _brute_eer(bonafide, spoof):
    """Scan every threshold; EER where |miss - fa| is smallest (ties: first, lowest threshold)."""
    best = None
    for thr in np.concatenate([[min(bonafide.min(), spoof.min()) - 1], np.sort(np.concatenate([bonafide, spoof]))]):
        miss = np.mean(bonafide <= thr) if thr != np.inf else 1.0
        fa = np.mean(spoof > thr)
        if best is None or abs(miss - fa) < best[0]:
            best = (abs(miss - fa), (miss + fa) / 2)
    return best[1]


def test_eer_on_hand_computed_scores():
    bonafide = np.array([0.9, 0.8, 0.7, 0.2])
    spoof = np.array([0.1, 0.3, 0.75, 0.05])
    # one bona fide (0.2) below and one spoof (0.75) above any threshold in (0.3, 0.7): EER 25 %
    value, threshold = metrics.eer(bonafide, spoof)
    assert value == pytest.approx(0.25)
    assert 0.2 <= threshold <= 0.75


@pytest.mark.parametrize("seed", range(5))
def test_eer_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    bonafide, spoof = rng.normal(1, 1, 200), rng.normal(-1, 1.5, 300)
    assert metrics.eer(bonafide, spoof)[0] == pytest.approx(_brute_eer(bonafide, spoof), abs=1 / 200)


def test_perfect_and_inverted_systems():
    assert metrics.eer([2, 3], [0, 1])[0] == 0.0
    assert metrics.eer([0, 1], [2, 3])[0] == 1.0


def test_det_curve_endpoints():
    p_miss, p_fa, thr = metrics.det_curve([1.0, 2.0], [0.0])
    assert (p_miss[0], p_fa[0]) == (0.0, 1.0) and (p_miss[-1], p_fa[-1]) == (1.0, 0.0)
    assert np.all(np.diff(thr) >= 0)


def test_min_tdcf_2019_hand_example():
    asv = metrics.AsvErrorRates(threshold=0.0, p_fa=0.01, p_miss=0.02, p_miss_spoof=0.3, eer=0.015)
    c = metrics.COST_2019
    c1 = c["Ptar"] * (c["Cmiss_cm"] - c["Cmiss_asv"] * 0.02) - c["Pnon"] * c["Cfa_asv"] * 0.01
    c2 = c["Cfa_cm"] * c["Pspoof"] * 0.7
    bonafide, spoof = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.5])
    expected = min((c1 * pm + c2 * pf) / min(c1, c2) for pm, pf in [(0, 1), (0, 0.5), (1 / 3, 0.5), (1 / 3, 0), (2 / 3, 0), (1, 0)])
    assert metrics.min_tdcf_2019(bonafide, spoof, asv) == pytest.approx(expected)


def test_perfect_cm_has_zero_tdcf_and_dcf():
    asv = metrics.asv_error_rates(np.array([5.0, 6.0]), np.array([0.0, 1.0]), np.array([4.0, 7.0]))
    assert metrics.min_tdcf_2019([3, 4], [0, 1], asv) == 0.0
    # the revised t-DCF keeps the ASV's own cost C0: a perfect CM reaches C0 / (C0 + min(C1, C2))
    c = metrics.COST_2021
    c0 = c["Ptar"] * c["Cmiss"] * asv.p_miss + c["Pnon"] * c["Cfa"] * asv.p_fa
    c1, c2 = c["Ptar"] * c["Cmiss"] - c0, c["Pspoof"] * c["Cfa_spoof"] * asv.p_fa_spoof
    assert metrics.min_tdcf_2021([3, 4], [0, 1], asv) == pytest.approx(c0 / (c0 + min(c1, c2)))
    assert metrics.min_dcf([3, 4], [0, 1]) == 0.0


def test_cllr_and_act_dcf():
    # scores as LLRs: an uninformative system (all zeros) has Cllr 1
    assert metrics.cllr(np.zeros(10), np.zeros(10)) == pytest.approx(1.0)
    assert metrics.cllr(np.full(5, 20.0), np.full(5, -20.0)) < 1e-6
    # a system that accepts everything: actDCF = Cfa * Pspoof / min(...) = 0.5 / 0.5 = 1
    assert metrics.act_dcf(np.full(5, 10.0), np.full(5, 10.0)) == pytest.approx(1.0)


def test_a_dcf_and_t_eer_properties():
    rng = np.random.default_rng(0)
    tar, non, spf = rng.normal(4, 1, 500), rng.normal(0, 1, 500), rng.normal(2, 1, 500)
    value, _ = metrics.a_dcf(tar, non, spf)
    assert 0 < value < 1
    assert metrics.a_dcf(tar + 100, non, spf - 100)[0] == 0.0
    # a perfect CM leaves the tandem with the ASV's own EER against nontargets
    cm_b, cm_s = rng.normal(10, 1, 500), rng.normal(-10, 1, 500)
    asv_eer = metrics.eer(tar, non)[0]
    assert metrics.t_eer(cm_b, cm_s, tar, non, spf) == pytest.approx(asv_eer, abs=0.01)
    # a worse CM can only raise the t-EER
    assert metrics.t_eer(rng.normal(1, 1, 500), rng.normal(0, 1, 500), tar, non, spf) > asv_eer


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared (reference score files)")
@pytest.mark.parametrize("name,eer_percent,min_tdcf", [("mul", 1.060135, 0.033539), ("add", 1.158596, 0.037372)])
def test_reproduces_official_asvspoof2019_values(name, eer_percent, min_tdcf):
    from detect.scorefile import read_asv_scores, read_cm_scores

    cm = read_cm_scores(SHARED / f"RawGAT_ST_{name}.eval.scores.txt")
    asv = read_asv_scores(SHARED / "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt")
    result = metrics.summarize(cm.bonafide, cm.spoof, asv=asv)
    assert round(result["eer_percent"], 4) == round(eer_percent, 4)
    assert round(result["min_tdcf"], 5) == round(min_tdcf, 5)
    assert result["n_bonafide"] + result["n_spoof"] == 71_237
