"""recipes/detector_v2/experts_or_loso.py: two experts joined by OR catch what either alone misses."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "recipes" / "detector_v2"))

from experts_or_loso import or_rows  # noqa: E402
from frontends_loso import report  # noqa: E402


def test_or_of_two_experts_catches_a_page_that_fools_one_of_them():
    """Page "a" fools the first expert (its fakes score as real as real files), page "b" the second; each expert alone
    has one page at chance or worse, while OR separates both; the normalisation keeps every row's sign (bona fide up)."""
    rng = np.random.default_rng(0)
    n = 60
    sources = np.array(["real1"] * n + ["real2"] * n + ["a"] * n + ["b"] * n)
    labels = np.array([0] * 2 * n + [1] * 2 * n)
    noise = lambda: rng.normal(0, 1, 4 * n)  # noqa: E731
    fakes_a, fakes_b = sources == "a", sources == "b"
    # bona fide log-odds: real files ~ +2; a page an expert catches ~ -3, a page that fools it ~ +2
    first = np.where(fakes_b, -3.0, 2.0) + noise()
    second = np.where(fakes_a, -3.0, 2.0) + noise()
    baseline = (first + second) / 2
    rows = or_rows({"clean": baseline}, {"cnn": {"clean": first}, "spectrum": {"clean": second}}, labels, sources)
    eer = {name: report(scores["clean"], labels, sources)["per_source"] for name, scores in rows.items()}
    assert eer["cnn alone, normalised"]["a"] > 35 and eer["cnn alone, normalised"]["b"] < 5
    assert eer["spectrum alone, normalised"]["b"] > 35 and eer["spectrum alone, normalised"]["a"] < 5
    assert eer["OR: max of the two experts"]["a"] < 5 and eer["OR: max of the two experts"]["b"] < 5
    assert set(rows) == {"fused features (baseline)", "fused features, normalised by other pages' real files", "cnn alone, normalised",
                         "spectrum alone, normalised", "OR: max of the two experts", "mean of the two experts"}
