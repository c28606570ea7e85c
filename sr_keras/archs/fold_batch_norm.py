"""Batch norm folded into the preceding convolutions: the inference form of a BN SRResNet.

At inference BN is affine per channel, y = gamma * (x - mean) / sqrt(var + eps) + beta, so a conv
followed by BN is one conv with
    kernel' = kernel * s,   bias' = (bias - mean) * s + beta,   s = gamma / sqrt(var + eps)
(s broadcast over the output-channel axis).  `fold_batch_norm(srresnet)` returns the
`SRResNet(batch_norm=False)` of the same configuration (its BN positions are identity layers with the BN
layers' names) carrying the folded weights: the same function in inference mode, with 2B + 1
fewer per-pixel passes over the feature maps.  Training needs the BN model (batch statistics).
"""

from __future__ import annotations

import keras
import numpy as np

from sr_keras.archs.srresnet import SRResNet


def folded_conv_weights(kernel, bias, gamma, beta, mean, variance, epsilon: float):
    """(kernel', bias') of conv-then-BN as one conv; kernel [kh, kw, in, out], the rest [out]."""
    scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(variance, np.float64) + epsilon)
    kernel = np.asarray(kernel, np.float64) * scale
    bias = (np.asarray(bias, np.float64) - mean) * scale + beta
    return kernel.astype(np.float32), bias.astype(np.float32)


def _bn_after(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """conv layer name -> the BatchNormalization layer that consumes its output (SRResNet's pairs)."""
    pairs = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            source = layer.input._keras_history.operation
            if not isinstance(source, keras.layers.Conv2D):
                raise ValueError(f"{model.name}: BN {layer.name} does not follow a convolution")
            pairs[source.name] = layer
    return pairs


def fold_batch_norm(model: SRResNet) -> SRResNet:
    """A BN-free SRResNet computing `model(x, training=False)` (up to float32 rounding)."""
    if not isinstance(model, SRResNet) or not model.batch_norm:
        raise ValueError(f"fold_batch_norm needs a batch-norm SRResNet, got {type(model).__name__}")
    config = model.get_config()  # every option (e.g. tanh_output), so the folded model is the same function
    config.pop("batch_norm_epsilon", None)
    folded = SRResNet.from_config({**config, "batch_norm": False})
    bn_after = _bn_after(model)
    for layer in model.layers:
        if not layer.weights or isinstance(layer, keras.layers.BatchNormalization):
            continue
        weights = layer.get_weights()
        if layer.name in bn_after:
            bn = bn_after[layer.name]
            gamma, beta, mean, variance = bn.get_weights()
            weights = list(folded_conv_weights(weights[0], weights[1], gamma, beta, mean, variance, bn.epsilon))
        folded.get_layer(layer.name).set_weights(weights)
    return folded


def inference_form(model):
    """The generator that inference and export run: a batch-norm SRResNet folded, anything else as it is.

    The folded model is a copy (the same function within float32 rounding, see `fold_batch_norm`),
    so use it only where the weights no longer change: not for a model that is still trained or
    interpolated (`sr_keras.interpolation` rewrites the weights in place).
    """
    if isinstance(model, SRResNet) and model.batch_norm:
        return fold_batch_norm(model)
    return model
