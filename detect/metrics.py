"""Countermeasure metrics with the ASVspoof definitions. Pure functions on score arrays.

Convention: higher score = more bona fide. "bona fide" scores are the positive class.

- `eer`, `det_curve`: equal error rate as the official ASVspoof 2019/2021 code computes it (threshold sweep
  over every score, EER = mean of miss and false-alarm rates where they are closest).
- `min_tdcf_2019`: minimum normalised legacy t-DCF with the ASVspoof 2019 cost model.
- `min_tdcf_2021`: the revised (ASVspoof 2021) t-DCF.
- `min_dcf`, `act_dcf`, `cllr`: the ASVspoof 5 CM measures; `a_dcf` for SASV scores; `t_eer` the concurrent
  tandem EER (Kinnunen et al., TPAMI 2023) of a CM and an ASV system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ASVspoof 2019 legacy t-DCF cost model (evaluation plan)
COST_2019 = {"Pspoof": 0.05, "Ptar": 0.9405, "Pnon": 0.0095, "Cmiss_asv": 1.0, "Cfa_asv": 10.0, "Cmiss_cm": 1.0, "Cfa_cm": 10.0}
# ASVspoof 2021 revised t-DCF cost model
COST_2021 = {"Pspoof": 0.05, "Ptar": 0.95 * 0.99, "Pnon": 0.95 * 0.01, "Cmiss": 1.0, "Cfa": 10.0, "Cfa_spoof": 10.0}
# ASVspoof 5: CM DCF and SASV a-DCF parameters (evaluation plan)
COST_ASVSPOOF5_CM = {"Pspoof": 0.05, "Cmiss": 1.0, "Cfa": 10.0}
COST_ASVSPOOF5_ADCF = {"Ptar": 0.9405, "Pnon": 0.0095, "Pspoof": 0.05, "Cmiss": 1.0, "Cfa_non": 10.0, "Cfa_spoof": 10.0}


def _as_scores(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"no {name} scores")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} scores hold NaN or infinite values")
    return arr


def det_curve(bonafide, spoof) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miss rate (bona fide rejected) and false-alarm rate (spoof accepted) at every threshold.

    Accept means score >= threshold. Returns (p_miss, p_fa, thresholds), each of length N + 1, with the
    thresholds sorted ascending and the first one below every score (p_miss = 0, p_fa = 1).
    """
    bonafide, spoof = _as_scores(bonafide, "bona fide"), _as_scores(spoof, "spoof")
    scores = np.concatenate([bonafide, spoof])
    is_bonafide = np.concatenate([np.ones(bonafide.size), np.zeros(spoof.size)])
    order = np.argsort(scores, kind="mergesort")
    bonafide_below = np.cumsum(is_bonafide[order])  # bona fide scores at or below each sorted score
    spoof_above = spoof.size - (np.arange(1, scores.size + 1) - bonafide_below)
    p_miss = np.concatenate([[0.0], bonafide_below / bonafide.size])
    p_fa = np.concatenate([[1.0], spoof_above / spoof.size])
    thresholds = np.concatenate([[scores[order[0]] - 0.001], scores[order]])
    return p_miss, p_fa, thresholds


def eer(bonafide, spoof) -> tuple[float, float]:
    """(EER as a fraction, its threshold)."""
    p_miss, p_fa, thresholds = det_curve(bonafide, spoof)
    i = int(np.argmin(np.abs(p_miss - p_fa)))
    return float((p_miss[i] + p_fa[i]) / 2), float(thresholds[i])


def roc_points(bonafide, spoof, *, max_points: int = 500) -> list[dict[str, float]]:
    """Up to `max_points` (threshold, p_miss, p_fa) points along the DET/ROC curve, for plots and JSON."""
    p_miss, p_fa, thresholds = det_curve(bonafide, spoof)
    idx = np.unique(np.linspace(0, len(thresholds) - 1, min(max_points, len(thresholds))).astype(int))
    return [{"threshold": float(thresholds[i]), "p_miss": float(p_miss[i]), "p_fa": float(p_fa[i])} for i in idx]


@dataclass(frozen=True)
class AsvErrorRates:
    """ASV error rates at the ASV system's EER threshold, as the t-DCF needs them."""

    threshold: float
    p_fa: float  # nontarget accepted
    p_miss: float  # target rejected
    p_miss_spoof: float  # spoof rejected
    eer: float

    @property
    def p_fa_spoof(self) -> float:
        return 1.0 - self.p_miss_spoof


def asv_error_rates(target, nontarget, spoof) -> AsvErrorRates:
    target, nontarget, spoof = _as_scores(target, "ASV target"), _as_scores(nontarget, "ASV nontarget"), _as_scores(spoof, "ASV spoof")
    asv_eer, threshold = eer(target, nontarget)
    return AsvErrorRates(
        threshold=threshold,
        p_fa=float(np.mean(nontarget >= threshold)),
        p_miss=float(np.mean(target < threshold)),
        p_miss_spoof=float(np.mean(spoof < threshold)),
        eer=asv_eer,
    )


def min_tdcf_2019(bonafide, spoof, asv: AsvErrorRates, cost: dict = COST_2019) -> float:
    """Minimum normalised legacy t-DCF (ASVspoof 2019)."""
    c1 = cost["Ptar"] * (cost["Cmiss_cm"] - cost["Cmiss_asv"] * asv.p_miss) - cost["Pnon"] * cost["Cfa_asv"] * asv.p_fa
    c2 = cost["Cfa_cm"] * cost["Pspoof"] * (1 - asv.p_miss_spoof)
    if c1 < 0 or c2 < 0:
        raise ValueError("t-DCF cost terms are negative: the ASV system is worse than chance at its EER point")
    p_miss, p_fa, _ = det_curve(bonafide, spoof)
    return float(np.min((c1 * p_miss + c2 * p_fa) / min(c1, c2)))


def min_tdcf_2021(bonafide, spoof, asv: AsvErrorRates, cost: dict = COST_2021) -> float:
    """Minimum normalised revised t-DCF (ASVspoof 2021)."""
    c0 = cost["Ptar"] * cost["Cmiss"] * asv.p_miss + cost["Pnon"] * cost["Cfa"] * asv.p_fa
    c1 = cost["Ptar"] * cost["Cmiss"] - c0
    c2 = cost["Pspoof"] * cost["Cfa_spoof"] * asv.p_fa_spoof
    p_miss, p_fa, _ = det_curve(bonafide, spoof)
    return float(np.min(c0 + c1 * p_miss + c2 * p_fa) / (c0 + min(c1, c2)))


def _dcf_weights(cost: dict) -> tuple[float, float]:
    return cost["Cmiss"] * (1 - cost["Pspoof"]), cost["Cfa"] * cost["Pspoof"]


def min_dcf(bonafide, spoof, cost: dict = COST_ASVSPOOF5_CM) -> float:
    """ASVspoof 5 normalised minimum DCF of a CM (bona fide miss vs spoof false alarm)."""
    w_miss, w_fa = _dcf_weights(cost)
    p_miss, p_fa, _ = det_curve(bonafide, spoof)
    return float(np.min(w_miss * p_miss + w_fa * p_fa) / min(w_miss, w_fa))


def bayes_threshold(cost: dict = COST_ASVSPOOF5_CM) -> float:
    """Threshold on log-likelihood-ratio scores that minimises the expected cost."""
    w_miss, w_fa = _dcf_weights(cost)
    return float(np.log(w_fa / w_miss))


def act_dcf(bonafide, spoof, cost: dict = COST_ASVSPOOF5_CM) -> float:
    """ASVspoof 5 actual DCF: scores read as calibrated LLRs, thresholded at the Bayes threshold."""
    bonafide, spoof = _as_scores(bonafide, "bona fide"), _as_scores(spoof, "spoof")
    w_miss, w_fa = _dcf_weights(cost)
    threshold = bayes_threshold(cost)
    return float((w_miss * np.mean(bonafide < threshold) + w_fa * np.mean(spoof >= threshold)) / min(w_miss, w_fa))


def cllr(bonafide, spoof) -> float:
    """Log-likelihood-ratio cost in bits (0 = perfect, 1 = uninformative calibrated system)."""
    bonafide, spoof = _as_scores(bonafide, "bona fide"), _as_scores(spoof, "spoof")
    return float((np.mean(np.logaddexp(0, -bonafide)) + np.mean(np.logaddexp(0, spoof))) / (2 * np.log(2)))


def a_dcf(target, nontarget, spoof, cost: dict = COST_ASVSPOOF5_ADCF) -> tuple[float, float]:
    """Minimum normalised architecture-agnostic DCF (Shim et al. 2024) of SASV scores: (a-DCF, threshold)."""
    target, nontarget, spoof = _as_scores(target, "target"), _as_scores(nontarget, "nontarget"), _as_scores(spoof, "spoof")
    thresholds = np.unique(np.concatenate([target, nontarget, spoof, [np.inf]]))
    p_miss = np.searchsorted(np.sort(target), thresholds, side="left") / target.size
    p_fa_non = 1 - np.searchsorted(np.sort(nontarget), thresholds, side="left") / nontarget.size
    p_fa_spoof = 1 - np.searchsorted(np.sort(spoof), thresholds, side="left") / spoof.size
    w_miss, w_non, w_spoof = cost["Cmiss"] * cost["Ptar"], cost["Cfa_non"] * cost["Pnon"], cost["Cfa_spoof"] * cost["Pspoof"]
    dcf = (w_miss * p_miss + w_non * p_fa_non + w_spoof * p_fa_spoof) / min(w_miss, w_non + w_spoof)
    i = int(np.argmin(dcf))
    return float(dcf[i]), float(thresholds[i])


def t_eer(cm_bonafide, cm_spoof, asv_target, asv_nontarget, asv_spoof) -> float:
    """Concurrent tandem EER of a CM and an ASV system (Kinnunen et al., TPAMI 2023), as a fraction.

    With CM and ASV decisions independent, the tandem rejects a target if either system does, accepts a
    nontarget if the CM passes it (as bona fide) and the ASV accepts it, and accepts a spoof if both do.
    The t-EER is the common value of the three tandem error rates at the threshold pair where they meet.
    """
    cm_miss, cm_fa, _ = det_curve(cm_bonafide, cm_spoof)
    asv_miss_tar, asv_fa_non, _ = det_curve(asv_target, asv_nontarget)
    _, asv_fa_spoof, _ = det_curve(asv_target, asv_spoof)
    # ASV operating points: for each, target miss, nontarget FA and spoof FA at a common ASV threshold.
    asv_thr = np.unique(np.concatenate([_as_scores(asv_target, "t"), _as_scores(asv_nontarget, "n"), _as_scores(asv_spoof, "s")]))
    t_sorted, n_sorted, s_sorted = np.sort(asv_target), np.sort(asv_nontarget), np.sort(asv_spoof)
    a_miss = np.searchsorted(t_sorted, asv_thr, side="left") / t_sorted.size
    a_fa_non = 1 - np.searchsorted(n_sorted, asv_thr, side="left") / n_sorted.size
    a_fa_spoof = 1 - np.searchsorted(s_sorted, asv_thr, side="left") / s_sorted.size
    best = 1.0
    gap_best = np.inf
    # Sweep CM operating points; at each, pick the ASV threshold where tandem miss and nontarget FA cross,
    # then keep the CM point where the spoof FA also meets them.
    for c_miss, c_fa in zip(cm_miss[:: max(1, len(cm_miss) // 2000)], cm_fa[:: max(1, len(cm_fa) // 2000)]):
        tdm_miss = 1 - (1 - c_miss) * (1 - a_miss)
        tdm_fa_non = (1 - c_miss) * a_fa_non
        tdm_fa_spoof = c_fa * a_fa_spoof
        j = int(np.argmin(np.abs(tdm_miss - tdm_fa_non)))
        values = np.array([tdm_miss[j], tdm_fa_non[j], tdm_fa_spoof[j]])
        gap = values.max() - values.min()
        if gap < gap_best:
            gap_best, best = gap, float(values.mean())
    return best


def summarize(bonafide, spoof, *, metric_format: str = "asvspoof2019", asv: dict | None = None) -> dict:
    """All metrics of a format in one JSON-ready dict (`asv` = {"target", "nontarget", "spoof"} score arrays)."""
    bonafide, spoof = _as_scores(bonafide, "bona fide"), _as_scores(spoof, "spoof")
    value, threshold = eer(bonafide, spoof)
    out: dict = {"eer_percent": 100 * value, "eer_threshold": threshold, "n_bonafide": int(bonafide.size), "n_spoof": int(spoof.size)}
    rates = asv_error_rates(asv["target"], asv["nontarget"], asv["spoof"]) if asv else None
    if rates is not None:
        out["asv_eer_percent"] = 100 * rates.eer
    if metric_format == "asvspoof2019":
        if rates is not None:
            out["min_tdcf"] = min_tdcf_2019(bonafide, spoof, rates)
    elif metric_format == "asvspoof2021":
        if rates is not None:
            out["min_tdcf"] = min_tdcf_2021(bonafide, spoof, rates)
    elif metric_format == "asvspoof5":
        out.update(min_dcf=min_dcf(bonafide, spoof), act_dcf=act_dcf(bonafide, spoof), cllr=cllr(bonafide, spoof))
        if asv:
            out["a_dcf"], out["a_dcf_threshold"] = a_dcf(asv["target"], asv["nontarget"], asv["spoof"])
            out["t_eer_percent"] = 100 * t_eer(bonafide, spoof, asv["target"], asv["nontarget"], asv["spoof"])
    else:
        raise ValueError(f"unknown metric format {metric_format!r}; expected asvspoof2019, asvspoof2021 or asvspoof5")
    return out
