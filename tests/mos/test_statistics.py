"""sr_keras.mos.statistics against hand-computed values and published constants."""

import math

import numpy as np
import pytest

from sr_keras.mos import figure, simulation, statistics


def rating(rater, method, score, image="a", image_set="S", repeat=0, stimulus=None, phase="test"):
    return {"rater_id": rater, "method": method, "score": score, "image": image, "image_set": image_set, "repeat": repeat,
            "stimulus_id": stimulus or f"{image_set}/{image}/{method}", "phase": phase, "anchor": None,
            "presentation_id": f"{rater}-{method}-{image}-{repeat}", "position": 0, "rated_at": 0.0}


def test_confidence_interval_student_t_over_rater_means():
    # Rater means 2, 3, 4: sd 1; t(0.975, df=2) = 4.302653 (tables) -> half-width 4.302653 / sqrt(3).
    half, sd, kind = statistics.confidence_interval([2.0, 3.0, 4.0], [1, 3, 3, 3, 4, 4])
    assert kind == "raters" and sd == pytest.approx(1.0)
    assert half == pytest.approx(4.302653 / math.sqrt(3), abs=1e-5)
    # One rater: the per-rating interval, t(0.975, 3) = 3.182446, sd of (1, 2, 3, 4) = 1.290994.
    half, _, kind = statistics.confidence_interval([2.5], [1, 2, 3, 4])
    assert kind == "ratings" and half == pytest.approx(3.182446 * 1.290994 / 2, abs=1e-5)
    assert math.isnan(statistics.confidence_interval([3.0], [3])[0])


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 -> 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 1 x 0.04) = 0.06
    assert statistics.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert statistics.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_pairwise_wilcoxon_exact_p_by_hand():
    # 6 raters, all prefer A by different margins: exact two-sided signed-rank p = 2 / 2^6.
    rows = []
    for rater, gap in enumerate([1, 2, 3, 4, 5, 6]):
        rows += [rating(rater, "A", 5, image=f"i{k}") for k in range(gap)] + [rating(rater, "A", 1, image=f"j{k}") for k in range(6 - gap)]
        rows += [rating(rater, "B", 1, image=f"i{k}") for k in range(6)]
    (result,) = statistics.pairwise(rows, ["A", "B"])
    assert result["raters"] == 6 and result["p"] == pytest.approx(2 / 64) and result["statistic"] == 0.0
    assert result["mean_difference"] == pytest.approx(np.mean([4 * g / 6 for g in range(1, 7)]))
    assert result["significant"]


def test_rater_summary_and_exclusion_rule_by_hand():
    rows = []
    # Rater 1: NN 1, 2; HR 5, 4; retest pairs (3, 3), (4, 2), (2, 2): exact 2/3, |diff| 2/3.
    rows += [rating(1, "nearest", 1, "a"), rating(1, "nearest", 2, "b"), rating(1, "HR", 5, "a"), rating(1, "HR", 4, "b")]
    for k, (first, second) in enumerate([(3, 3), (4, 2), (2, 2)]):
        rows += [rating(1, "bicubic", first, f"c{k}"), rating(1, "bicubic", second, f"c{k}", repeat=1)]
    # Rater 2: scores NN 3 and HR 3 (does not tell the anchors apart): excluded by the rule.
    rows += [rating(2, "nearest", 3, "a"), rating(2, "nearest", 3, "b"), rating(2, "HR", 3, "a"), rating(2, "HR", 3, "b")]
    rows += [rating(2, "bicubic", 3, f"c{k}") for k in range(3)]
    rows.append(rating(1, "nearest", 1, "z", phase="calibration"))  # calibration ratings are not test ratings
    summary = statistics.rater_summary(rows)
    assert summary[1]["nn_mean"] == 1.5 and summary[1]["hr_mean"] == 4.5 and summary[1]["retest_pairs"] == 3
    assert summary[1]["retest_exact"] == pytest.approx(2 / 3) and summary[1]["retest_mad"] == pytest.approx(2 / 3)
    assert summary[1]["fails_rule"] == "" and "HR - NN = 0.00" in summary[2]["fails_rule"]
    kept = statistics.analyse(rows, methods=["nearest", "bicubic", "HR"])
    assert kept["excluded"] == [] and kept["mos"]["all"]["HR"]["mos"] == pytest.approx(15 / 4)
    # Only first presentations count for the MOS: bicubic = (3 + 4 + 2 + 3 + 3 + 3) / 6.
    assert kept["mos"]["all"]["bicubic"]["mos"] == pytest.approx(18 / 6) and kept["mos"]["all"]["bicubic"]["ratings"] == 6
    assert kept["mos"]["all"]["bicubic"]["counts"] == [0, 1, 4, 1, 0]
    excluded = statistics.analyse(rows, methods=["nearest", "bicubic", "HR"], exclude=True)
    assert excluded["excluded"] == [2] and excluded["mos"]["all"]["HR"]["mos"] == 4.5
    assert excluded["mos"]["all"]["HR"]["ci_kind"] == "ratings"
    png = figure.distribution_png(kept)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_expected_score_of_the_simulated_raters():
    assert simulation.expected_score(3.0, 0.8) == pytest.approx(3.0)  # symmetric around a scale point
    assert simulation.expected_score(2.4, 0.0) == 2.0 and simulation.expected_score(2.5, 0.0) == 3.0
    assert simulation.expected_score(9.0, 0.5) == pytest.approx(5.0)
    rng = np.random.default_rng(0)
    for mu, sd in ((1.2, 0.8), (4.4, 0.6)):
        samples = np.clip(np.floor(rng.normal(mu, sd, 1_000_000) + 0.5), 1, 5)
        assert simulation.expected_score(mu, sd) == pytest.approx(samples.mean(), abs=0.004)


def test_per_set_mos_and_one_figure_panel_per_set():
    rows = [rating(r, "A", 2, image_set="S1") for r in range(3)] + [rating(r, "A", 4, image_set="S2") for r in range(3)]
    rows += [rating(r, "B", 3, image_set="S1") for r in range(3)] + [rating(0, "B", 5, image_set="S2")]
    report = statistics.analyse(rows, methods=["B", "A"])
    assert report["sets"] == ["S1", "S2"] and report["methods"] == ["B", "A"]
    assert report["mos"]["S1"]["A"]["mos"] == 2 and report["mos"]["S2"]["A"]["mos"] == 4 and report["mos"]["all"]["A"]["mos"] == 3
    assert report["mos"]["all"]["B"]["mos"] == pytest.approx(14 / 4) and report["mos"]["S2"]["B"]["ci_kind"] == "ratings"
    assert report["mos"]["S1"]["A"]["ci_low"] == report["mos"]["S1"]["A"]["ci_high"] == 2  # no spread
    drawn = figure.draw(report)
    assert [ax.get_title() for ax in drawn.axes if ax.get_title()] == ["S1", "S2", "all sets"]
