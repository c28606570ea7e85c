"""Published x4 benchmark numbers of the two papers, for tables that print ours beside theirs.

PSNR in dB and SSIM on the Y channel with a 4-pixel border crop (the papers' protocol, as
`sr_keras.metrics` computes it):

  row                 source                                              Set5          Set14         BSD100        Urban100
  bicubic             SRGAN paper, Table 2 (Urban100: ESRGAN)             28.43/0.8211  25.99/0.7486  25.94/0.6935  23.14/-
  SRResNet            SRGAN paper (Ledig et al. 2017), Table 2            32.05/0.9019  28.49/0.8184  27.58/0.7620  -
  SRGAN-VGG54         SRGAN paper, Table 2                                29.40/0.8472  26.02/0.7397  25.16/0.6688  -
  RRDB-PSNR           ESRGAN (Wang et al. 2018), authors' RRDB PSNR model  32.73/0.9011  28.99/0.7917  27.85/0.7455  27.03/0.8153

`PAPER_ROW_OF_MODEL` pairs the shipped models with the row they reproduce (krasserm's SRResNet and
SRGAN generators are trained to Ledig et al.'s recipe); other models are paired on the command
line (`sr-eval --published=MODEL=ROW`), e.g. an imported RRDB_PSNR_x4.pth with RRDB-PSNR.
Benchmark sets are recognised by folder name, case-insensitively (``.../Set5`` is Set5).
"""

from __future__ import annotations

import os

SETS = ("Set5", "Set14", "BSD100", "Urban100")

# row -> (where it is published, {set: {metric: value}})
PUBLISHED: dict[str, tuple[str, dict[str, dict[str, float]]]] = {
    "bicubic": ("SRGAN paper Table 2; Urban100 from ESRGAN", {
        "Set5": {"psnr": 28.43, "ssim": 0.8211},
        "Set14": {"psnr": 25.99, "ssim": 0.7486},
        "BSD100": {"psnr": 25.94, "ssim": 0.6935},
        "Urban100": {"psnr": 23.14},
    }),
    "SRResNet": ("SRGAN paper (Ledig et al. 2017) Table 2", {
        "Set5": {"psnr": 32.05, "ssim": 0.9019},
        "Set14": {"psnr": 28.49, "ssim": 0.8184},
        "BSD100": {"psnr": 27.58, "ssim": 0.7620},
    }),
    "SRGAN-VGG54": ("SRGAN paper (Ledig et al. 2017) Table 2", {
        "Set5": {"psnr": 29.40, "ssim": 0.8472},
        "Set14": {"psnr": 26.02, "ssim": 0.7397},
        "BSD100": {"psnr": 25.16, "ssim": 0.6688},
    }),
    "RRDB-PSNR": ("ESRGAN (Wang et al. 2018), the authors' RRDB PSNR model", {
        "Set5": {"psnr": 32.73, "ssim": 0.9011},
        "Set14": {"psnr": 28.99, "ssim": 0.7917},
        "BSD100": {"psnr": 27.85, "ssim": 0.7455},
        "Urban100": {"psnr": 27.03, "ssim": 0.8153},
    }),
}  # fmt: skip

PAPER_ROW_OF_MODEL = {
    "bicubic": "bicubic",
    "krasserm-srresnet": "SRResNet",
    "krasserm-srgan": "SRGAN-VGG54",
}


def set_name(source: str) -> str:
    """The benchmark name of an HR source: a folder's base name, with SETS' spelling when it is one."""
    name = os.path.basename(os.path.normpath(source)) if not source.startswith("tfds:") else source
    for known in SETS:
        if name.lower() == known.lower():
            return known
    return name


def published_value(row: str | None, benchmark: str, metric: str) -> float | None:
    """The published `metric` ("psnr", "ssim", ...) of `row` on `benchmark`, None if not published."""
    if row is None:
        return None
    if row not in PUBLISHED:
        raise ValueError(f"unknown published row {row!r}: expected one of {', '.join(PUBLISHED)}")
    return PUBLISHED[row][1].get(benchmark, {}).get(metric)
