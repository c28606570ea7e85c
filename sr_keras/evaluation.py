"""Scoring upscalers on benchmark sets with the papers' protocol, and the papers' tables.

  evaluate(upscaler, pairs)            per-image scores of one model on one set of EvalPairs
  read_benchmark(source, scale)        a set's EvalPairs, skipping (and listing) unreadable or
                                       too-small images instead of stopping
  benchmark_table(results)             Markdown: a row per model, per set one column per metric,
                                       each cell with the published value and the difference

The metric columns come from `METRICS`, a list of `Metric(name, function, higher_is_better)`:
a new metric (NIQE, LPIPS) joins every table, JSON file and progress line with one line there.
A metric's function takes (hr uint8 [H, W, 3], sr uint8 [H, W, 3], crop, channel) -> float.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np

from sr_keras import metrics, published
from sr_keras.data.pipeline import EvalPair


@dataclasses.dataclass(frozen=True)
class Metric:
    """One score column: `key` in JSON, `label` in tables, printed with `digits` decimals."""

    key: str
    label: str
    function: Callable[[np.ndarray, np.ndarray, int, str], float]
    higher_is_better: bool
    digits: int
    unit: str = ""


METRICS: list[Metric] = [
    Metric("psnr", "PSNR", metrics.psnr, higher_is_better=True, digits=2, unit="dB"),
    Metric("ssim", "SSIM", metrics.ssim, higher_is_better=True, digits=4),
]
# RMSE (on request, --metrics=...,rmse): the distortion axis of the perception-distortion plane.
DISTORTION_METRICS: list[Metric] = [
    Metric("rmse", "RMSE↓", metrics.rmse, higher_is_better=False, digits=3),
]


def _border(image: np.ndarray, crop: int) -> np.ndarray:
    return image[crop:-crop, crop:-crop] if crop else image


# Perceptual columns (sr_keras.metrics), on the same border-cropped uint8 images; they ignore
# `channel`: NIQE scores the Y channel, LPIPS / DISTS the RGB image. Lower is better for all three.
PERCEPTUAL_METRICS: list[Metric] = [
    Metric("niqe", "NIQE↓", lambda hr, sr, crop, channel: metrics.niqe(_border(sr, crop)), higher_is_better=False, digits=4),
    Metric("lpips", "LPIPS↓", lambda hr, sr, crop, channel: metrics.lpips(_border(hr, crop), _border(sr, crop), net="alex"), higher_is_better=False, digits=4),
    Metric("lpips_vgg", "LPIPS-VGG↓", lambda hr, sr, crop, channel: metrics.lpips(_border(hr, crop), _border(sr, crop), net="vgg"), higher_is_better=False, digits=4),
    Metric("dists", "DISTS↓", lambda hr, sr, crop, channel: metrics.dists(_border(hr, crop), _border(sr, crop)), higher_is_better=False, digits=4),
]
AVAILABLE_METRICS: dict[str, Metric] = {m.key: m for m in METRICS + DISTORTION_METRICS + PERCEPTUAL_METRICS}


def metrics_named(names: list[str]) -> list[Metric]:
    """The Metric of each key (psnr, ssim, rmse, niqe, lpips, lpips_vgg, dists), in order; ValueError names an unknown one."""
    unknown = [name for name in names if name not in AVAILABLE_METRICS]
    if unknown or not names:
        raise ValueError(f"--metrics: unknown {', '.join(unknown) or '(none given)'}; expected a comma-separated list of {', '.join(AVAILABLE_METRICS)}")
    return [AVAILABLE_METRICS[name] for name in dict.fromkeys(names)]


@dataclasses.dataclass(frozen=True)
class ImageScore:
    """Scores of one image ({metric key: value}, e.g. PSNR in dB, SSIM in [0, 1]) after a border crop.

    `score.psnr` reads `score.values["psnr"]` (any metric key works as an attribute).
    """

    name: str
    height: int
    width: int
    values: dict

    def __getattr__(self, key):
        values = self.__dict__.get("values", {})
        if key in values:
            return values[key]
        raise AttributeError(key)

    def as_dict(self) -> dict:
        return {"name": self.name, "height": self.height, "width": self.width, **self.values}


def score_image(hr: np.ndarray, sr: np.ndarray, crop: int, channel: str, metric_list=None) -> dict:
    """{metric key: value} of one uint8 SR image against its HR."""
    return {m.key: float(m.function(hr, sr, crop, channel)) for m in (metric_list or METRICS)}


def evaluate(upscaler, pairs: list[EvalPair], crop: int | None = None, channel: str = "y", progress=None, metric_list=None) -> list[ImageScore]:
    """Upscale each LR, round to uint8, score against its HR; crop defaults to the scale.

    progress: called as progress(index, pair, score) after each image (sr-eval reports a progress line).
    """
    crop = upscaler.scale if crop is None else crop
    scores = []
    for index, pair in enumerate(pairs):
        sr = metrics.to_uint8(upscaler(pair.lr))
        if sr.shape != pair.hr.shape:
            raise ValueError(f"{pair.name}: {upscaler.name} gave {sr.shape} for HR {pair.hr.shape}")
        score = ImageScore(pair.name, pair.hr.shape[0], pair.hr.shape[1], score_image(pair.hr, sr, crop, channel, metric_list))
        scores.append(score)
        if progress is not None:
            progress(index, pair, score)
    return scores


def mean_scores(scores: list[ImageScore], metric_list=None) -> dict:
    """{metric key: mean over the images} (NaN for no images)."""
    return {m.key: float(np.mean([s.values[m.key] for s in scores])) if scores else float("nan") for m in (metric_list or METRICS)}


def summary(scores: list[ImageScore]) -> dict:
    """Means (as mean_psnr, mean_ssim, ...) and the per-image rows."""
    return {**{f"mean_{k}": v for k, v in mean_scores(scores).items()}, "images": [s.as_dict() for s in scores]}


def format_table(scores: list[ImageScore], title: str, metric_list=None) -> str:
    """A plain-text table of one model on one set: one row per image and a mean row."""
    metric_list = metric_list or METRICS
    width = max([len(s.name) for s in scores] + [len("mean"), 5])
    columns = [max(len(m.label), m.digits + 4) for m in metric_list]
    lines = [title, f"{'image':<{width}}  {'HxW':>11}  " + "  ".join(f"{m.label:>{c}}" for m, c in zip(metric_list, columns))]
    for s in scores:
        cells = "  ".join(f"{s.values[m.key]:{c}.{m.digits}f}" for m, c in zip(metric_list, columns))
        lines.append(f"{s.name:<{width}}  {f'{s.height}x{s.width}':>11}  {cells}")
    means = mean_scores(scores, metric_list)
    lines.append(f"{'mean':<{width}}  {'':>11}  " + "  ".join(f"{means[m.key]:{c}.{m.digits}f}" for m, c in zip(metric_list, columns)))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ benchmark sets


@dataclasses.dataclass
class Benchmark:
    """One HR source prepared for scoring: its name (Set5...), pairs, and the files skipped (with why)."""

    source: str
    name: str
    pairs: list[EvalPair]
    skipped: list[dict]  # {"file": ..., "reason": ...}


def min_hr_size(scale: int, crop: int) -> int:
    """The smallest HR side that can be scored: one LR pixel, and SSIM's 11x11 window after the crop."""
    return max(scale, 11 + 2 * crop)


def read_benchmark(source: str, scale: int, crop: int, data_dir: str | None = None) -> Benchmark:
    """The EvalPairs of a source (a folder, 'embedded' or tfds:NAME[:SPLIT]).

    In a folder, each file is read on its own: one that cannot be decoded, or that is smaller than
    `min_hr_size` after cropping to a multiple of the scale, is skipped and listed (with the reason)
    in `Benchmark.skipped` instead of stopping the run.  A missing or empty folder is an error.
    """
    from sr_keras.data import images as image_io
    from sr_keras.data import pipeline, sources

    skipped, items = [], []
    if source == "embedded" or source.startswith("tfds:"):
        items = sources.load_source(source, data_dir)
    else:
        for path in image_io.list_images(source):
            try:
                items.append(sources.NamedImage(os.path.basename(path), image_io.read_image(path)))
            except image_io.ImageReadError as error:
                skipped.append({"file": path, "reason": str(error)})
    smallest = min_hr_size(scale, crop)
    kept = []
    for item in items:
        height, width = item.image.shape[:2]
        usable = (height - height % scale, width - width % scale)
        if min(usable) < smallest:
            where = item.name if source == "embedded" or source.startswith("tfds:") else os.path.join(source, item.name)
            skipped.append({"file": where, "reason": f"{where}: {width}x{height} pixels is too small (x{scale} with a {crop}-pixel border crop needs at least {smallest}x{smallest})"})
        else:
            kept.append(item)
    return Benchmark(source, published.set_name(source), pipeline.evaluation_pairs(kept, scale), skipped)


# ----------------------------------------------------------------------------------- paper tables


@dataclasses.dataclass
class Result:
    """One model on one benchmark: per-image scores, means, and the paper row it is compared with."""

    model: str  # the spec given
    name: str  # the upscaler's name
    benchmark: Benchmark
    scores: list[ImageScore]
    seconds: float
    paper_row: str | None = None

    def means(self, metric_list=None) -> dict:
        return mean_scores(self.scores, metric_list)

    def as_dict(self, metric_list=None) -> dict:
        metric_list = metric_list or METRICS
        means = self.means(metric_list)
        published_values = {m.key: published.published_value(self.paper_row, self.benchmark.name, m.key) for m in metric_list}
        return {
            "model": self.model,
            "name": self.name,
            "set": self.benchmark.name,
            "hr_dir": self.benchmark.source,
            "images_scored": len(self.scores),
            "mean": means,
            "published_row": self.paper_row,
            "published_source": published.PUBLISHED[self.paper_row][0] if self.paper_row else None,
            "published": {k: v for k, v in published_values.items() if v is not None},
            "difference": {k: means[k] - v for k, v in published_values.items() if v is not None},
            "seconds": self.seconds,
            "images": [s.as_dict() for s in self.scores],
            "skipped": list(self.benchmark.skipped),
        }


def _cell(value: float, reference: float | None, metric: Metric) -> str:
    text = f"{value:.{metric.digits}f}"
    if reference is None:
        return text
    return f"{text} ({reference:.{metric.digits}f}, {value - reference:+.{metric.digits}f})"


def benchmark_table(results: list[Result], metric_list=None) -> str:
    """The papers' table in Markdown: a row per model, per benchmark a column per metric.

    A cell is `ours (published, ours - published)` where the papers give the number, else `ours`.
    Models and benchmarks keep the order they first appear in `results`.
    """
    metric_list = metric_list or METRICS
    models = list(dict.fromkeys(r.model for r in results))
    sets = list(dict.fromkeys(r.benchmark.name for r in results))
    by_key = {(r.model, r.benchmark.name): r for r in results}
    header = ["model", "paper row"] + [f"{s} {m.label}" for s in sets for m in metric_list]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model in models:
        first = next(r for r in results if r.model == model)
        cells = [first.name, first.paper_row or "-"]
        for benchmark in sets:
            result = by_key.get((model, benchmark))
            for metric in metric_list:
                if result is None or not result.scores:
                    cells.append("-")
                    continue
                value = result.means(metric_list)[metric.key]
                cells.append(_cell(value, published.published_value(result.paper_row, benchmark, metric.key), metric))
        lines.append("| " + " | ".join(cells) + " |")
    arrows = ", ".join(f"{m.label} {'higher' if m.higher_is_better else 'lower'} is better" for m in metric_list)
    lines.append("")
    lines.append(f"Cells: ours (published, ours - published) where the paper row gives the number; {arrows}.")
    return "\n".join(lines)
