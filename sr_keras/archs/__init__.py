"""Network architectures: Keras 3 functional models (generators and discriminators).

Importing this package registers every class for `.keras` loading.
"""

from sr_keras.archs.discriminators import SRGANDiscriminator, VGGStyleDiscriminator
from sr_keras.archs.layers import PixelShuffle, ScaledResidual
from sr_keras.archs.rrdbnet import RRDBNet
from sr_keras.archs.srresnet import SRResNet

__all__ = ["PixelShuffle", "RRDBNet", "SRGANDiscriminator", "SRResNet", "ScaledResidual", "VGGStyleDiscriminator"]
