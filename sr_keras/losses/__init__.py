"""Loss functions: pixel, perceptual (VGG feature) and adversarial losses."""
