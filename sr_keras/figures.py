"""Paper-style comparison figures of super-resolved images.

`comparison_grid` draws what Fig. 2 of the SRGAN paper (Ledig et al. 2017) shows: for each image
one row of zoomed crops of the same detailed region, one per method (bicubic, SRResNet, SRGAN,
ESRGAN, ...) and the original HR last, each captioned with the method and its PSNR / SSIM.  An
optional first column shows the whole HR image with the cropped region outlined.

    from sr_keras.figures import comparison_grid
    figure = comparison_grid(
        [hr],                                               # uint8 [H, W, 3] per row
        {"Bicubic": [bic], "SRGAN": [sr]},                   # per column, one SR image per row
        scores={"Bicubic": [(24.1, 0.71)], "SRGAN": [(25.3, 0.74)]},
        row_names=["chelsea.png"],
        output="comparison.png",
    )

Crops are shown with nearest-neighbour magnification, so pixels stay pixels.  The figure is a
plain `matplotlib.figure.Figure` (no pyplot state), so this works in any backend and thread.
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

import numpy as np


def detailed_region(image: np.ndarray, size: int, margin: int = 4) -> tuple[int, int]:
    """(top, left) of the `size` x `size` window with the most gradient energy of the luma.

    The window keeps `margin` pixels away from the image border where it can (the SR metrics
    ignore a border of `scale` pixels, and border pixels are the least informative).
    """
    image = np.asarray(image)
    height, width = image.shape[:2]
    size = int(min(size, height, width))
    if image.ndim == 3:
        luma = image[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])[: image.shape[-1]]
    else:
        luma = image.astype(np.float64)
    energy = np.zeros_like(luma)
    energy[:, 1:] += np.abs(np.diff(luma, axis=1))
    energy[1:, :] += np.abs(np.diff(luma, axis=0))
    # Integral image: the sum over any window in O(1).
    integral = np.zeros((height + 1, width + 1))
    integral[1:, 1:] = energy.cumsum(0).cumsum(1)
    sums = integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    lo_y, lo_x = min(margin, height - size), min(margin, width - size)
    hi_y, hi_x = max(lo_y, height - size - margin), max(lo_x, width - size - margin)
    allowed = sums[lo_y : hi_y + 1, lo_x : hi_x + 1]
    top, left = np.unravel_index(int(np.argmax(allowed)), allowed.shape)
    return int(top + lo_y), int(left + lo_x)


def default_crop_size(height: int, width: int) -> int:
    """A quarter of the short side, at least 16 pixels (never more than the image)."""
    return int(min(height, width, max(16, min(height, width) // 4)))


def region_boxes(hr_images: Sequence[np.ndarray], crop_size: int | None = None) -> list[tuple[int, int, int]]:
    """(top, left, size) of the zoomed region of each image: its most detailed `crop_size` square
    (default `default_crop_size`), as `comparison_grid` picks them."""
    boxes = []
    for image in hr_images:
        image = np.asarray(image)
        size = min(crop_size or default_crop_size(*image.shape[:2]), *image.shape[:2])
        boxes.append((*detailed_region(image, size), size))
    return boxes


def crop_scores(hr: np.ndarray, sr: np.ndarray, box: tuple[int, int, int], channel: str = "y") -> tuple[float, float]:
    """(PSNR dB, SSIM) of the region `box` = (top, left, size) of `sr` against the same region of `hr`.

    The scores of what a zoomed panel shows (no border crop: the region is the image scored).
    SSIM needs a region of at least 11 x 11 pixels (its Gaussian window).
    """
    from sr_keras import metrics

    top, left, size = box
    window = (slice(top, top + size), slice(left, left + size))
    return metrics.psnr(np.asarray(hr)[window], np.asarray(sr)[window], 0, channel), metrics.ssim(
        np.asarray(hr)[window], np.asarray(sr)[window], 0, channel
    )


def comparison_grid(
    hr_images: Sequence[np.ndarray],
    results: Mapping[str, Sequence[np.ndarray]],
    scores: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    row_names: Sequence[str] | None = None,
    crop_size: int | None = None,
    boxes: Sequence[tuple[int, int, int]] | None = None,
    hr_label: str = "HR (original)",
    show_context: bool = True,
    panel_inches: float = 2.2,
    title: str = "",
    output: str | None = None,
    dpi: int = 120,
):
    """One row per image of zoomed crops: [context] | one column per method | HR.

    hr_images: uint8 [H, W, 3] per row.  results: column label -> one image per row, each the
    shape of that row's HR (dict order is column order).  scores: label -> (PSNR dB, SSIM) per
    row, shown in the captions as "label\\nPSNR dB / SSIM" (labels without scores get none).
    row_names: shown on the first panel of each row.  crop_size: side of the zoomed region in HR
    pixels (default `default_crop_size` of each image); boxes: explicit (top, left, size) per
    row, else the most detailed region of each HR (`region_boxes`; score those regions with
    `crop_scores` to caption a panel with what it shows).  show_context adds a first
    column with the whole HR image and the region outlined.  Every panel is `panel_inches`
    square, plus room for a two-line caption.  output: if given, the figure is saved there
    (parent folders created).  Returns the `matplotlib.figure.Figure`; its axes are the panels,
    row by row (rows x columns of them).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    hr_images = [np.asarray(image) for image in hr_images]
    rows = len(hr_images)
    if rows == 0:
        raise ValueError("comparison_grid: no images")
    labels = list(results)
    for label in labels:
        if len(results[label]) != rows:
            raise ValueError(f"comparison_grid: {label!r} has {len(results[label])} images for {rows} rows")
        for index, image in enumerate(results[label]):
            if np.asarray(image).shape[:2] != hr_images[index].shape[:2]:
                raise ValueError(
                    f"comparison_grid: {label!r} row {index} is {np.asarray(image).shape[:2]}, HR is {hr_images[index].shape[:2]}"
                )
    scores = scores or {}
    for label, values in scores.items():
        if len(values) != rows:
            raise ValueError(f"comparison_grid: scores of {label!r} have {len(values)} entries for {rows} rows")
    if boxes is None:
        boxes = region_boxes(hr_images, crop_size)
    elif len(boxes) != rows:
        raise ValueError(f"comparison_grid: {len(boxes)} boxes for {rows} rows")

    columns = int(show_context) + len(labels) + 1
    caption_inches = 0.45
    title_inches = 0.45 if title else 0.0
    figure = Figure(figsize=(panel_inches * columns, (panel_inches + caption_inches) * rows + title_inches), dpi=dpi)
    axes = figure.subplots(rows, columns, squeeze=False)
    for row, hr in enumerate(hr_images):
        top, left, size = boxes[row]
        panels = [(label, results[label][row], scores.get(label, [None] * rows)[row]) for label in labels]
        panels.append((hr_label, hr, None))
        column = 0
        if show_context:
            axis = axes[row, 0]
            axis.imshow(hr, interpolation="lanczos")
            axis.add_patch(Rectangle((left - 0.5, top - 0.5), size, size, fill=False, edgecolor="red", linewidth=1.5))
            axis.set_xlabel(f"{row_names[row] if row_names else ''}\n{hr.shape[1]}x{hr.shape[0]}", fontsize=8)
            column = 1
        for label, image, score in panels:
            axis = axes[row, column]
            crop = np.asarray(image)[top : top + size, left : left + size]
            axis.imshow(crop, interpolation="nearest")
            caption = label if score is None else f"{label}\n{score[0]:.2f} dB / {score[1]:.4f}"
            axis.set_xlabel(caption, fontsize=8)
            column += 1
        if row_names and not show_context:
            axes[row, 0].set_ylabel(row_names[row], fontsize=8)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    if output:
        folder = os.path.dirname(output)
        if folder:
            os.makedirs(folder, exist_ok=True)
        figure.savefig(output, dpi=dpi)
    return figure
