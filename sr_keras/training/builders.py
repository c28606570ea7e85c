"""From a `TrainConfig` to networks, losses, optimizers and the compiled training model."""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from sr_keras.archs import layers as sr_layers
from sr_keras.training.config import TrainConfig
from sr_keras.training.esrgan_model import ESRGANModel
from sr_keras.training.sr_model import ContentLoss, SRModel
from sr_keras.training.srgan_model import SRGANModel


def make_strategy(name: str, tpu: str = "") -> tf.distribute.Strategy:
    """tf.distribute strategy by name; `mirrored` uses all GPUs, or all logical CPUs without GPUs."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()  # cluster from the TF_CONFIG variable
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"unknown strategy {name!r}")


def build_generator(config: TrainConfig) -> keras.Model:
    from sr_keras.archs.rrdbnet import RRDBNet
    from sr_keras.archs.srresnet import SRResNet

    if config.generator == "srresnet":
        shape = dict(num_blocks=config.num_blocks, num_features=config.num_features, scale=config.scale)
        head_and_norm = dict(batch_norm=config.generator_batch_norm, batch_norm_epsilon=config.generator_batch_norm_epsilon, tanh_output=config.generator_tanh_output)
        return SRResNet(**shape, **head_and_norm)
    return RRDBNet(num_blocks=config.num_blocks, num_features=config.num_features, growth=config.growth, scale=config.scale)


def build_discriminator(config: TrainConfig) -> keras.Model:
    from sr_keras.archs.discriminators import SRGANDiscriminator, VGGStyleDiscriminator

    if config.discriminator == "srgan":
        return SRGANDiscriminator(patch_size=config.crop_size)
    return VGGStyleDiscriminator(patch_size=config.crop_size)


def build_content_loss(config: TrainConfig, perceptual_weights=None) -> ContentLoss:
    """Pixel + perceptual loss; `perceptual_weights` overrides config.perceptual_weights (tests pass None)."""
    from sr_keras.losses import pixel

    perceptual_loss = None
    if config.perceptual_layer and config.perceptual_weight:
        from sr_keras.losses import perceptual

        perceptual_loss = perceptual.PerceptualLoss(
            layer=config.perceptual_layer,
            before_activation=config.perceptual_before_activation,
            criterion=config.perceptual_criterion,
            feature_scale=config.perceptual_feature_scale,
            network=config.perceptual_network,
            weights=config.perceptual_weights if perceptual_weights == "config" else perceptual_weights,
        )
    pixel_loss = functools.partial({"mse": pixel.mse, "l1": pixel.l1}[config.pixel_loss], value_range=pixel.parse_value_range(config.pixel_range))
    return ContentLoss(pixel_loss, config.pixel_weight, perceptual_loss, config.perceptual_weight)


class MultiStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = initial_learning_rate * gamma ** (number of milestones <= step): BasicSR's MultiStepLR.

    `step` is the optimizer's 0-based update count, so updates 1..m use the initial rate and
    update m + 1 onwards the decayed one.  Without milestones the rate is constant.  Every run uses
    this schedule, so the optimizer's checkpointed variables (iterations, moments) are the same
    whatever the milestones: a stopped run can resume with a new schedule (`--lr_milestones`).
    """

    def __init__(self, initial_learning_rate: float, milestones=(), gamma: float = 0.1):
        self.initial_learning_rate = float(initial_learning_rate)
        self.milestones = tuple(int(m) for m in milestones)
        self.gamma = float(gamma)

    def __call__(self, step):
        rate = keras.ops.convert_to_tensor(self.initial_learning_rate, "float32")
        if not self.milestones:
            return rate
        reached = keras.ops.greater_equal(keras.ops.cast(step, "int64"), keras.ops.convert_to_tensor(self.milestones, "int64"))
        passed = keras.ops.sum(keras.ops.cast(reached, "float32"))
        return rate * keras.ops.power(self.gamma, passed)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "milestones": list(self.milestones), "gamma": self.gamma}


def learning_rate_schedule(config: TrainConfig) -> MultiStepDecay:
    """learning_rate * lr_gamma ** k after the k-th of lr_milestones."""
    return MultiStepDecay(config.learning_rate, config.lr_milestones, config.lr_gamma)


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """Adam(beta1, beta2) on `learning_rate_schedule(config)`; config.optimizer="sgd": plain SGD (w -= lr * g)."""
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate=learning_rate_schedule(config))
    return keras.optimizers.Adam(learning_rate=learning_rate_schedule(config), beta_1=config.beta1, beta_2=config.beta2)


def load_generator_weights(generator: keras.Model, source: str) -> None:
    """Initialise G from any Keras model spec (a run dir's newest intact checkpoint, a .keras or .weights.h5
    file, a shipped name) with `sr_keras.loader.init_generator_weights`: a source whose architecture
    differs from G's is refused (ValueError), never half loaded."""
    from sr_keras import loader

    loader.init_generator_weights(generator, source)


def build_training_model(config: TrainConfig, perceptual_weights="config") -> SRModel:
    """The compiled training model for `config`, created in the current strategy scope.

    With config.mixed_precision == "bfloat16" the networks are built under Keras' mixed_bfloat16
    policy (bfloat16 compute, float32 weights); the global policy is restored afterwards.
    """
    previous = keras.mixed_precision.global_policy()
    if config.mixed_precision == "bfloat16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        return _build_training_model(config, perceptual_weights)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def uses_winograd(config: TrainConfig) -> bool:
    """Winograd convolutions (config.winograd) only under XLA and in float32: without XLA its many small
    ops lose to TensorFlow's oneDNN convolutions, and bfloat16 cannot carry its transforms' constants."""
    return config.winograd and config.use_xla and config.mixed_precision == ""


def uses_stride2_phases(config: TrainConfig) -> bool:
    """Stride-2 convolutions on their inputs' phases (config.stride2_phases) only under XLA, whose
    strided-convolution gradients they replace; without XLA it was not measured."""
    return config.stride2_phases and config.use_xla


def _build_training_model(config: TrainConfig, perceptual_weights) -> SRModel:
    generator = build_generator(config)
    if config.init_generator:
        load_generator_weights(generator, config.init_generator)
    content_loss = build_content_loss(config, perceptual_weights)
    discriminator = None if config.gan == "none" else build_discriminator(config)
    perceptual = content_loss.perceptual
    for network in (generator, discriminator, perceptual.extractor if perceptual is not None else None):
        if network is not None:
            sr_layers.use_winograd(network, uses_winograd(config))
            sr_layers.use_stride2_phases(network, uses_stride2_phases(config))
    if config.gan == "none":
        model = SRModel(generator, content_loss, config.scale)
        model.compile(optimizer=make_optimizer(config), jit_compile=config.use_xla, steps_per_execution=config.steps_per_execution)
    else:
        cls, extra = (SRGANModel, {}) if config.gan == "standard" else (ESRGANModel, {"ragan_average": config.ragan_average})
        model = cls(generator, discriminator, content_loss, config.scale, adversarial_weight=config.adversarial_weight, **extra)
        model.compile(
            optimizer=make_optimizer(config),
            d_optimizer=make_optimizer(config),
            jit_compile=config.use_xla,
            steps_per_execution=config.steps_per_execution,
        )
    model.build_optimizers()
    if config.val_lpips:
        from sr_keras.metrics import LPIPS

        model.validation_lpips = LPIPS(config.val_lpips)
    model.build_trackers(model.loss_names + ["psnr", "ssim"] + (["lpips"] if config.val_lpips else []))
    return model
