"""The perception-distortion plane (Blau & Michaeli 2018; ESRGAN, Wang et al. 2018, Fig. 2).

Every SR method is a point: its distortion, RMSE on the Y channel (x, as PIRM 2018 and ESRGAN's
figure; PSNR = 20 log10(255 / RMSE)), against its perceptual quality (y): NIQE (no reference) and
LPIPS (learned, against the HR), lower is better on both axes, so better methods lie lower-left,
and no method can pass the bound that runs from the high-perception end to the low-distortion end.
Two sweeps between a PSNR-oriented and a GAN generator of one architecture trace the trade-off:

  * network interpolation (ESRGAN Sec. 3.4): theta = (1 - alpha) theta_PSNR + alpha theta_GAN;
  * image interpolation: SR = (1 - alpha) SR_PSNR + alpha SR_GAN, pixel by pixel in float, then
    rounded to uint8 as every SR output.

At alpha = 0 and 1 both sweeps give their endpoint model's images exactly, so they meet the two
model points.  Each point's values are means over the benchmark set's images, every image scored
with the papers' protocol (uint8 SR, border crop = scale; sr_keras.evaluation).

    points = plane_points(pairs, models, psnr_model, gan_model, alphas, metric_list)
    plane_figure(points, "Set14", "pd_plane.png")

`sr-pd-plane` (sr_keras/programs/perception_distortion.py) makes the figure, a Markdown table and
a JSON file in one command.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from sr_keras import evaluation, metrics

MODEL = "model"
NETWORK_SWEEP = "network interpolation"
IMAGE_SWEEP = "image interpolation"


@dataclasses.dataclass
class PlanePoint:
    """One point of the plane: a model, or one alpha of a sweep, scored on a benchmark set.

    means: {metric key: mean over the images} (rmse on [0, 255], niqe, lpips, ... lower is better);
    images: the per-image scores (ImageScore.as_dict()).
    """

    label: str
    family: str  # MODEL | NETWORK_SWEEP | IMAGE_SWEEP
    alpha: float | None
    means: dict
    images: list[dict]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def upscale_all(upscaler, pairs) -> list[np.ndarray]:
    """Each pair's LR upscaled: float32 [0, 1] SR images [sH, sW, 3], in order."""
    return [upscaler(pair.lr) for pair in pairs]


def score_outputs(label: str, family: str, alpha, outputs: Sequence[np.ndarray], pairs, crop: int, metric_list) -> PlanePoint:
    """Round each float SR output to uint8 and score it against its HR (sr_keras.evaluation)."""
    scores = []
    for output, pair in zip(outputs, pairs):
        sr = metrics.to_uint8(output)
        if sr.shape != pair.hr.shape:
            raise ValueError(f"{pair.name}: {label} gave {sr.shape} for HR {pair.hr.shape}")
        values = evaluation.score_image(pair.hr, sr, crop, "y", metric_list)
        scores.append(evaluation.ImageScore(pair.name, pair.hr.shape[0], pair.hr.shape[1], values))
    return PlanePoint(label, family, alpha, evaluation.mean_scores(scores, metric_list), [s.as_dict() for s in scores])


def blend_images(psnr_output: np.ndarray, gan_output: np.ndarray, alpha: float) -> np.ndarray:
    """(1 - alpha) * psnr_output + alpha * gan_output in float64; alpha 0 / 1 return an endpoint as is."""
    if alpha == 0:
        return psnr_output
    if alpha == 1:
        return gan_output
    return (1.0 - alpha) * np.asarray(psnr_output, np.float64) + alpha * np.asarray(gan_output, np.float64)


def plane_points(
    pairs,
    models: Sequence[str],
    psnr_model: str | None,
    gan_model: str | None,
    alphas: Sequence[float],
    metric_list,
    scale: int = 4,
    tile: int | None = None,
    note: Callable[[str], None] = lambda text: None,
) -> list[PlanePoint]:
    """The model points (`models`: loader specs, e.g. bicubic, krasserm-srgan, a run dir), then,
    if `psnr_model` and `gan_model` are given, the network and the image interpolation sweeps
    between them at `alphas` (each in [0, 1]).  `note` receives one line per point."""
    from sr_keras import interpolation
    from sr_keras.inference import keras_upscaler
    from sr_keras.loader import load_upscaler

    crop = scale

    def loaded(spec):
        upscaler = load_upscaler(spec, scale)
        if upscaler.scale != scale:
            raise ValueError(f"{spec}: upscales x{upscaler.scale}, the plane is x{scale}")
        if tile is not None:
            upscaler.tile = tile
        return upscaler

    def report(point: PlanePoint) -> PlanePoint:
        note(f"{point.label}: " + "  ".join(f"{m.label} {point.means[m.key]:.{m.digits}f}" for m in metric_list))
        return point

    points = []
    for spec in models:
        upscaler = loaded(spec)
        points.append(report(score_outputs(upscaler.name, MODEL, None, upscale_all(upscaler, pairs), pairs, crop, metric_list)))
    if not (psnr_model and gan_model):
        return points
    alphas = [interpolation.check_alpha(a) for a in alphas]
    interpolator = interpolation.Interpolator(psnr_model, gan_model)
    upscaler = keras_upscaler(interpolator.model, "interpolated")  # one trace for every alpha
    if tile is not None:
        upscaler.tile = tile
    endpoints = {}
    for alpha in alphas:
        interpolator.set_alpha(alpha)
        outputs = upscale_all(upscaler, pairs)
        if alpha in (0.0, 1.0):
            endpoints[alpha] = outputs
        points.append(report(score_outputs(f"network alpha={alpha:g}", NETWORK_SWEEP, alpha, outputs, pairs, crop, metric_list)))
    for alpha, spec in ((0.0, psnr_model), (1.0, gan_model)):
        if alpha not in endpoints:
            endpoints[alpha] = upscale_all(loaded(spec), pairs)
    for alpha in alphas:
        outputs = [blend_images(a, b, alpha) for a, b in zip(endpoints[0.0], endpoints[1.0])]
        points.append(report(score_outputs(f"image alpha={alpha:g}", IMAGE_SWEEP, alpha, outputs, pairs, crop, metric_list)))
    return points


def markdown_table(points: Sequence[PlanePoint], metric_list, set_name: str) -> str:
    """A row per point: label, family, alpha, then each metric's mean (lower is better for all)."""
    header = "| point | kind | " + " | ".join(f"{set_name} {m.label}" for m in metric_list) + " |"
    lines = [header, "|" + "---|" * (2 + len(metric_list))]
    for point in points:
        cells = " | ".join(f"{point.means[m.key]:.{m.digits}f}" for m in metric_list)
        lines.append(f"| {point.label} | {point.family} | {cells} |")
    return "\n".join(lines) + "\n"


def plane_figure(points: Sequence[PlanePoint], metric_list, set_name: str, path: str, distortion: str = "rmse") -> None:
    """One panel per perceptual metric of `metric_list` (y) against `distortion` (x); written as PNG.

    Models are labelled markers, each sweep a line from alpha 0 to alpha 1 with its alphas marked.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sr_keras.atomic_files import replaced_atomically

    x_metric = next(m for m in metric_list if m.key == distortion)
    y_metrics = [m for m in metric_list if m.key != distortion]
    if not y_metrics:
        raise ValueError("the plane needs a perceptual metric besides the distortion (e.g. niqe, lpips)")
    figure, axes = plt.subplots(1, len(y_metrics), figsize=(6.2 * len(y_metrics), 5.0), squeeze=False)
    sweep_styles = {NETWORK_SWEEP: ("tab:red", "-", "o"), IMAGE_SWEEP: ("tab:purple", "--", "s")}
    for axis, y_metric in zip(axes[0], y_metrics):
        for family, (color, line, marker) in sweep_styles.items():
            sweep = [p for p in points if p.family == family]
            if not sweep:
                continue
            xs = [p.means[x_metric.key] for p in sweep]
            ys = [p.means[y_metric.key] for p in sweep]
            axis.plot(xs, ys, line, color=color, marker=marker, markersize=4, linewidth=1.2, label=f"{family} (alpha 0 -> 1)")
            for p, x, y in zip(sweep, xs, ys):
                if family == NETWORK_SWEEP:
                    axis.annotate(f"{p.alpha:g}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7, color=color)
        models = [p for p in points if p.family == MODEL]
        colors = plt.cm.tab10(np.linspace(0, 1, 10))
        for index, p in enumerate(models):
            x, y = p.means[x_metric.key], p.means[y_metric.key]
            axis.scatter([x], [y], s=46, color=colors[index % 10], edgecolor="black", linewidth=0.5, zorder=3, label=p.label)
            axis.annotate(p.label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        axis.set_xlabel(f"{x_metric.label} on Y, [0, 255] (distortion; lower is better)")
        axis.set_ylabel(f"{y_metric.label} (perception; lower is better)")
        axis.set_title(f"{set_name}: {x_metric.label} vs {y_metric.label}")
        axis.grid(True, alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    figure.suptitle("Perception-distortion plane (x4; better is lower-left)", fontsize=11)
    figure.tight_layout()
    with replaced_atomically(path, suffix=".png") as temporary:
        figure.savefig(temporary, dpi=130, format="png")
    plt.close(figure)
