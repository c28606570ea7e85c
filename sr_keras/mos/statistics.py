"""The study's statistics: MOS with confidence intervals, score distributions, pairwise tests,
rater calibration and consistency.

Choices (and why):
  * MOS of a method (per set, and over all sets) is the mean of its test ratings; a
    test-retest duplicate is not counted twice (only first presentations), so every rater
    weighs each stimulus once.
  * 95% confidence interval: Student t over the per-rater means of that method,
    MOS +- t(0.975, R-1) * sd(rater means) / sqrt(R).  Raters are the random sample; one
    rater's ratings are correlated through their own use of the scale, so the per-rating
    interval of ITU-T P.1401 (sd / sqrt(ratings)) would be too narrow whenever raters differ.
    With one rater only, the per-rating interval is used (and flagged).
  * Pairwise significance: the Wilcoxon signed-rank test (scipy.stats.wilcoxon, two-sided) on
    the paired per-rater means of the two methods, with Holm's correction over all pairs.
    Paired, because every rater rated every method on the same images; signed-rank, because
    scores are ordinal and their differences are not normal; per rater, not per rating, for the same dependence reason as
    the confidence interval (pairing 26 x 100 (rater, image) ratings would overstate the
    evidence).
  * Raters: their mean score for the nearest-neighbour and the HR versions in the test (the
    calibration anchors were 1 and 5), and test-retest agreement on the duplicates (share of
    identical scores, mean absolute difference, count).  Exclusion rule (optional,
    `exclude=True`): a rater is excluded if mean(HR) - mean(NN) < EXCLUDE_MIN_ANCHOR_GAP
    (they do not tell the anchors apart) or mean |test - retest| > EXCLUDE_MAX_RETEST_MAD over
    at least EXCLUDE_MIN_RETEST_PAIRS duplicate pairs (they are not consistent).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections import defaultdict

import numpy as np

ALL_SETS = "all"
EXCLUDE_MIN_ANCHOR_GAP = 1.0  # points on the 1-5 scale
EXCLUDE_MAX_RETEST_MAD = 1.0  # points on the 1-5 scale
EXCLUDE_MIN_RETEST_PAIRS = 3  # the test-retest part of the rule needs at least this many pairs
NEAREST, HR = "nearest", "HR"


def confidence_interval(per_rater_means: list[float], ratings: list[int], level: float = 0.95) -> tuple[float, float, str]:
    """Half-width and kind of the CI (see the module docstring); NaN if it cannot be estimated."""
    from scipy import stats

    values, kind = (per_rater_means, "raters") if len(per_rater_means) >= 2 else (ratings, "ratings")
    if len(values) < 2:
        return math.nan, math.nan, kind
    sd = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1)) * sd / math.sqrt(len(values))
    return half, sd, kind


def _method_summary(rows: list[dict]) -> dict:
    scores = [r["score"] for r in rows]
    by_rater = defaultdict(list)
    for r in rows:
        by_rater[r["rater_id"]].append(r["score"])
    rater_means = [float(np.mean(v)) for v in by_rater.values()]
    mos = float(np.mean(scores))
    half, _, kind = confidence_interval(rater_means, scores)
    counts = [scores.count(k) for k in range(1, 6)]
    return {
        "mos": mos, "ci_low": mos - half, "ci_high": mos + half, "ci_kind": kind,
        "sd": float(np.std(scores, ddof=1)) if len(scores) > 1 else math.nan,
        "ratings": len(scores), "raters": len(by_rater), "counts": counts,
    }


def rater_summary(ratings: list[dict]) -> dict[int, dict]:
    """Per rater: test ratings, NN and HR mean score, test-retest agreement."""
    result = {}
    by_rater = defaultdict(list)
    for r in ratings:
        if r["phase"] == "test":
            by_rater[r["rater_id"]].append(r)
    for rater_id, rows in sorted(by_rater.items()):
        nn = [r["score"] for r in rows if r["method"] == NEAREST and not r["repeat"]]
        hr = [r["score"] for r in rows if r["method"] == HR and not r["repeat"]]
        first = {r["stimulus_id"]: r["score"] for r in rows if not r["repeat"]}
        pairs = [(first[r["stimulus_id"]], r["score"]) for r in rows if r["repeat"] and r["stimulus_id"] in first]
        diffs = [abs(a - b) for a, b in pairs]
        entry = {
            "ratings": len(rows),
            "nn_mean": float(np.mean(nn)) if nn else math.nan,
            "hr_mean": float(np.mean(hr)) if hr else math.nan,
            "retest_pairs": len(pairs),
            "retest_exact": float(np.mean([d == 0 for d in diffs])) if diffs else math.nan,
            "retest_mad": float(np.mean(diffs)) if diffs else math.nan,
        }
        reasons = []
        if nn and hr and entry["hr_mean"] - entry["nn_mean"] < EXCLUDE_MIN_ANCHOR_GAP:
            reasons.append(f"HR - NN = {entry['hr_mean'] - entry['nn_mean']:.2f} < {EXCLUDE_MIN_ANCHOR_GAP}")
        if len(diffs) >= EXCLUDE_MIN_RETEST_PAIRS and entry["retest_mad"] > EXCLUDE_MAX_RETEST_MAD:
            reasons.append(f"test-retest |diff| = {entry['retest_mad']:.2f} > {EXCLUDE_MAX_RETEST_MAD}")
        entry["fails_rule"] = "; ".join(reasons)
        result[rater_id] = entry
    return result


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone), same order as given."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def pairwise(rows: list[dict], methods: list[str]) -> list[dict]:
    """Wilcoxon signed-rank on paired per-rater means for every pair of methods (Holm-adjusted)."""
    from scipy import stats

    means = defaultdict(dict)  # method -> rater -> mean score
    grouped = defaultdict(list)
    for r in rows:
        grouped[(r["method"], r["rater_id"])].append(r["score"])
    for (method, rater), scores in grouped.items():
        means[method][rater] = float(np.mean(scores))
    results = []
    for a, b in itertools.combinations([m for m in methods if m in means], 2):
        raters = sorted(set(means[a]) & set(means[b]))
        diff = np.array([means[a][r] - means[b][r] for r in raters])
        if len(raters) == 0:
            continue
        if np.all(diff == 0):
            statistic, p = 0.0, 1.0
        else:
            test = stats.wilcoxon(diff, alternative="two-sided")
            statistic, p = float(test.statistic), float(test.pvalue)
        results.append({"a": a, "b": b, "raters": len(raters), "mean_difference": float(diff.mean()), "statistic": statistic, "p": p})
    for entry, adjusted in zip(results, holm([e["p"] for e in results])):
        entry["p_holm"] = adjusted
        entry["significant"] = adjusted < 0.05
    return results


def analyse(ratings: list[dict], methods: list[str] | None = None, exclude: bool = False) -> dict:
    """The whole report from `database.all_ratings` rows (see the module docstring)."""
    raters = rater_summary(ratings)
    excluded = sorted(r for r, e in raters.items() if e["fails_rule"]) if exclude else []
    test = [r for r in ratings if r["phase"] == "test" and not r["repeat"] and r["rater_id"] not in excluded]
    present = list(dict.fromkeys(r["method"] for r in test))
    methods = [m for m in (methods or []) if m in present] + [m for m in present if m not in (methods or [])]
    sets = sorted({r["image_set"] for r in test})
    mos = {}
    for image_set in sets + [ALL_SETS]:
        rows = [r for r in test if image_set == ALL_SETS or r["image_set"] == image_set]
        mos[image_set] = {m: _method_summary([r for r in rows if r["method"] == m]) for m in methods if any(r["method"] == m for r in rows)}
    return {
        "methods": methods,
        "sets": sets,
        "mos": mos,
        "pairwise": {s: pairwise([r for r in test if s == ALL_SETS or r["image_set"] == s], methods) for s in sets + [ALL_SETS]},
        "raters": raters,
        "excluded": excluded,
        "exclusion_rule": f"mean(HR) - mean(NN) < {EXCLUDE_MIN_ANCHOR_GAP} or mean |test - retest| > "
                          f"{EXCLUDE_MAX_RETEST_MAD} (over >= {EXCLUDE_MIN_RETEST_PAIRS} pairs)",
        "calibration_ratings": sum(r["phase"] == "calibration" for r in ratings),
        "test_ratings": sum(r["phase"] == "test" for r in ratings),
    }


def format_tables(report: dict) -> str:
    """Plain-text tables: MOS per method and set, pairwise tests (all sets), raters."""
    lines = ["MOS [95% CI] (ratings)", f"{'method':<22}" + "".join(f"{s:>26}" for s in report["sets"] + [ALL_SETS])]
    for method in report["methods"]:
        cells = []
        for s in report["sets"] + [ALL_SETS]:
            c = report["mos"].get(s, {}).get(method)
            cells.append(f"{c['mos']:.2f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}] ({c['ratings']})" if c else "-")
        lines.append(f"{method:<22}" + "".join(f"{cell:>26}" for cell in cells))
    lines += ["", "Pairwise, all sets: Wilcoxon signed-rank on per-rater means, Holm-adjusted"]
    lines.append(f"{'A':<20}{'B':<20}{'raters':>7}{'A-B':>8}{'p':>10}{'p_holm':>10}  significant")
    for e in report["pairwise"].get(ALL_SETS, []):
        lines.append(f"{e['a']:<20}{e['b']:<20}{e['raters']:>7}{e['mean_difference']:>8.2f}{e['p']:>10.2g}{e['p_holm']:>10.2g}  {'yes' if e['significant'] else 'no'}")
    lines += ["", f"Raters (exclusion rule: {report['exclusion_rule']}; excluded: {report['excluded'] or 'none'})"]
    lines.append(f"{'rater':>5}{'ratings':>9}{'NN mean':>9}{'HR mean':>9}{'retest n':>9}{'same':>7}{'|diff|':>8}  fails rule")
    for rater, e in report["raters"].items():
        lines.append(
            f"{rater:>5}{e['ratings']:>9}{e['nn_mean']:>9.2f}{e['hr_mean']:>9.2f}{e['retest_pairs']:>9}"
            f"{e['retest_exact']:>7.2f}{e['retest_mad']:>8.2f}  {e['fails_rule'] or '-'}"
        )
    return "\n".join(lines)


RATING_FIELDS = ("rater_id", "presentation_id", "position", "phase", "repeat", "image_set", "image", "method", "stimulus_id", "anchor", "score", "rated_at")


def ratings_csv(ratings: list[dict]) -> str:
    """Every rating as CSV (one row per rating, RATING_FIELDS columns)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=RATING_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(ratings)
    return buffer.getvalue()
