"""sr_keras: SRGAN and ESRGAN 4x single-image super-resolution in TensorFlow/Keras 3.

Conventions used across the package:
  * images are NHWC RGB;
  * model inputs and outputs are float32 in [0, 1] (generator outputs are linear, not clipped);
  * files and metrics use uint8 in [0, 255].
"""

__version__ = "0.1.0"
