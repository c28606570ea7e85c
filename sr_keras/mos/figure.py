"""The score-distribution figure in the style of SRGAN Fig. 5 (Ledig et al., CVPR 2017).

One panel per set (and one over all sets): a column per method, a cell per score 1-5 coloured
by the share of that method's ratings with that score, the MOS as a red marker with its 95%
confidence interval, and the number of ratings under each column.
"""

from __future__ import annotations

import io

import numpy as np


def draw(report: dict):
    """A matplotlib Figure of `statistics.analyse`'s report."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from sr_keras.mos.statistics import ALL_SETS

    panels = [s for s in report["sets"] + [ALL_SETS] if report["mos"].get(s)]
    if len(report["sets"]) == 1:
        panels = [ALL_SETS] if report["mos"].get(ALL_SETS) else []
    methods = report["methods"]
    figure, axes = plt.subplots(
        1, max(1, len(panels)), figsize=(1.1 + 0.9 * max(len(methods), 1) * max(1, len(panels)), 4.2), squeeze=False
    )
    image = None
    for ax, panel in zip(axes[0], panels or [None]):
        if panel is None:
            ax.text(0.5, 0.5, "no ratings yet", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        summaries = report["mos"][panel]
        shares = np.full((5, len(methods)), np.nan)
        for j, method in enumerate(methods):
            if method in summaries:
                counts = np.asarray(summaries[method]["counts"], dtype=float)
                shares[:, j] = counts / max(counts.sum(), 1.0)
        image = ax.imshow(shares, origin="lower", cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto",
                          extent=(-0.5, len(methods) - 0.5, 0.5, 5.5))
        for j, method in enumerate(methods):
            if method not in summaries:
                continue
            s = summaries[method]
            ax.errorbar(j, s["mos"], yerr=[[s["mos"] - s["ci_low"]], [s["ci_high"] - s["mos"]]] if np.isfinite(s["ci_low"]) else None,
                        fmt="o", color="red", markersize=6, capsize=4, markeredgecolor="white")
            ax.text(j, 0.62, f"n={s['ratings']}", ha="center", va="bottom", fontsize=7, color="white")
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
        ax.set_yticks(range(1, 6))
        ax.set_ylim(0.5, 5.5)
        title = report["sets"][0] if len(report["sets"]) == 1 else ("all sets" if panel == ALL_SETS else panel)
        ax.set_title(title)
        ax.set_ylabel("score (1 bad - 5 excellent)")
    if image is not None:
        figure.colorbar(image, ax=axes[0].tolist(), label="share of ratings", fraction=0.04, pad=0.02)
    figure.suptitle("Distribution of scores per method; red: MOS with 95% CI", fontsize=10)
    return figure


def save(report: dict, path: str) -> None:
    from matplotlib import pyplot as plt

    figure = draw(report)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def distribution_png(report: dict) -> bytes:
    from matplotlib import pyplot as plt

    figure = draw(report)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()
