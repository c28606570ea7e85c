"""Experiment configs: the papers' schedules load exactly; flags override; bad values are named."""

import glob
import os

import pytest

from sr_keras.training import config as config_lib

from .conftest import rates_in_force

EXPERIMENTS = os.path.join(os.path.dirname(__file__), "..", "..", "experiments")


def load(name):
    return config_lib.from_dict(config_lib.load_toml(os.path.join(EXPERIMENTS, f"{name}.toml")))


def test_every_experiment_file_is_a_valid_config():
    files = glob.glob(os.path.join(EXPERIMENTS, "*.toml"))
    assert len(files) >= 4
    for path in files:
        config_lib.from_dict(config_lib.load_toml(path), source=path)


def test_srresnet_mse_follows_the_paper():
    c = load("srresnet_mse")
    assert (c.generator, c.num_blocks, c.scale, c.gan, c.pixel_loss) == ("srresnet", 16, 4, "none", "mse")
    assert (c.crop_size, c.batch_size, c.steps, c.learning_rate, c.beta1) == (96, 16, 1_000_000, 1e-4, 0.9)


@pytest.mark.parametrize("name,layer", [("srgan_mse", ""), ("srgan_vgg22", "block2_conv2"), ("srgan_vgg54", "block5_conv4")])
def test_srgan_schedules_follow_the_paper(name, layer):
    c = load(name)
    assert c.gan == "standard" and c.adversarial_weight == 1e-3 and c.perceptual_layer == layer
    # 1e5 updates at 1e-4, then 1e5 at 1e-5.
    assert c.steps == 200_000 and c.lr_milestones == (100_000,) and rates_in_force(c) == pytest.approx([1e-4, 1e-5])
    if layer:
        assert c.pixel_weight == 0 and c.perceptual_feature_scale == pytest.approx(1 / 12.75)
        assert not c.perceptual_before_activation and c.perceptual_criterion == "mse"


def test_overrides_are_typed():
    assert config_lib.parse_override("learning_rate", "2e-4") == 2e-4
    assert config_lib.parse_override("steps", "1e5") == 100_000
    assert config_lib.parse_override("jit_compile", "false") == "false"  # the text; TrainConfig reads it
    assert config_lib.TrainConfig(jit_compile="false").jit_compile is False
    assert config_lib.TrainConfig(jit_compile=True).use_xla is True
    assert config_lib.parse_override("lr_milestones", "50000,100000") == (50_000, 100_000)
    with pytest.raises(ValueError, match="--steps=abc"):
        config_lib.parse_override("steps", "abc")


def test_invalid_configs_are_rejected_with_the_field_named(tmp_path):
    with pytest.raises(ValueError, match="unknown config field.*learnin_rate"):
        config_lib.from_dict({"learnin_rate": 1.0})
    with pytest.raises(ValueError, match="gan='wgan'"):
        config_lib.TrainConfig(gan="wgan")
    with pytest.raises(ValueError, match="crop_size"):
        config_lib.TrainConfig(crop_size=97)
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = [")
    with pytest.raises(ValueError, match="bad.toml: invalid TOML"):
        config_lib.load_toml(str(bad))
