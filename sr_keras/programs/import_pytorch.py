"""sr-import-pytorch: convert an official PyTorch ESRGAN / Real-ESRGAN RRDBNet checkpoint to Keras.

Reads a .pth file of xinntao/ESRGAN (RRDB_ESRGAN_x4.pth, RRDB_PSNR_x4.pth, old and new key
names), BasicSR or Real-ESRGAN (the `params` / `params_ema` state dicts; params_ema is preferred,
as Real-ESRGAN's inference does), infers the RRDBNet hyper-parameters (blocks, features, growth,
scale) from the tensor names and shapes, and writes the project's Keras RRDBNet: a .weights.h5
file (weights only; sr-upscale, sr-eval and sr-export infer the architecture from it) or a whole
.keras model.  Reading a .pth needs PyTorch: `pip install "sr_keras[torch]"`.  The layouts and the
conversion are described in sr_keras/weights/pytorch.py.

  sr-import-pytorch --checkpoint=RRDB_ESRGAN_x4.pth --output=esrgan_x4.weights.h5
  sr-import-pytorch --checkpoint=RealESRGAN_x4plus.pth --output=realesrgan_x4plus.keras
  sr-upscale --model=esrgan_x4.weights.h5 --input=photo.png --output=photo_x4.png   # then use it
"""

from __future__ import annotations


def run():
    """Console-script entry point: sr_keras.weights.pytorch's flags and main, with this help."""
    from sr_keras.programs import run_program
    from sr_keras.weights import pytorch

    pytorch._define_flags()
    run_program(pytorch.main, doc=__doc__)


if __name__ == "__main__":
    run()
