"""ESRGAN training (Wang et al. 2018): SRGAN's game with a relativistic average discriminator.

D_Ra(xr, xf) = sigmoid(C(xr) - mean C(xf)); the generator's loss uses D's logits on both real and
fake images, so it gets gradients from both terms (through the fake logits of each).  Everything
else (content losses, alternating updates, checkpoints) is `SRGANModel`'s.  The batch mean is
taken per replica, as in BasicSR's distributed training.
"""

from __future__ import annotations

from sr_keras.losses import adversarial
from sr_keras.training.srgan_model import SRGANModel


class ESRGANModel(SRGANModel):
    """SRGANModel with the relativistic average GAN losses (sum of both terms, or their mean)."""

    generator_uses_real_logits = True

    def __init__(self, *args, ragan_average: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ragan_average = ragan_average

    def discriminator_loss(self, real_logits, fake_logits):
        return adversarial.ragan_discriminator_loss(real_logits, fake_logits, average=self.ragan_average)

    def generator_adversarial_loss(self, real_logits, fake_logits):
        return adversarial.ragan_generator_loss(real_logits, fake_logits, average=self.ragan_average)
