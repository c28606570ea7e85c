"""Scoring an upscaler on benchmark images with the papers' protocol (see `sr_keras.metrics`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from sr_keras import metrics
from sr_keras.data.pipeline import EvalPair
from sr_keras.inference import Upscaler


@dataclasses.dataclass(frozen=True)
class ImageScore:
    """Scores of one image: PSNR in dB, SSIM in [0, 1], on Y (or RGB) after a border crop."""

    name: str
    height: int
    width: int
    psnr: float
    ssim: float


def evaluate(upscaler: Upscaler, pairs: list[EvalPair], crop: int | None = None, channel: str = "y") -> list[ImageScore]:
    """Upscale each LR, round to uint8, score against its HR; crop defaults to the scale."""
    crop = upscaler.scale if crop is None else crop
    scores = []
    for pair in pairs:
        sr = metrics.to_uint8(upscaler(pair.lr))
        if sr.shape != pair.hr.shape:
            raise ValueError(f"{pair.name}: {upscaler.name} gave {sr.shape} for HR {pair.hr.shape}")
        scores.append(
            ImageScore(
                pair.name,
                pair.hr.shape[0],
                pair.hr.shape[1],
                metrics.psnr(pair.hr, sr, crop, channel),
                metrics.ssim(pair.hr, sr, crop, channel),
            )
        )
    return scores


def summary(scores: list[ImageScore]) -> dict:
    """Mean PSNR/SSIM and the per-image rows, as written to --output JSON."""
    return {
        "mean_psnr": float(np.mean([s.psnr for s in scores])),
        "mean_ssim": float(np.mean([s.ssim for s in scores])),
        "images": [dataclasses.asdict(s) for s in scores],
    }


def format_table(scores: list[ImageScore], title: str) -> str:
    """A plain-text table: one row per image and a mean row."""
    width = max([len(s.name) for s in scores] + [len("mean"), 5])
    lines = [title, f"{'image':<{width}}  {'HxW':>11}  {'PSNR':>7}  {'SSIM':>6}"]
    for s in scores:
        lines.append(f"{s.name:<{width}}  {f'{s.height}x{s.width}':>11}  {s.psnr:7.2f}  {s.ssim:6.4f}")
    result = summary(scores)
    lines.append(f"{'mean':<{width}}  {'':>11}  {result['mean_psnr']:7.2f}  {result['mean_ssim']:6.4f}")
    return "\n".join(lines)
