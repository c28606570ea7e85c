"""THE model loader: every spec form, SavedModel base dirs (newest version, named by folder), and
init_generator refusing sources that do not match the architecture."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import export_paths, loader
from sr_keras.archs import RRDBNet, SRResNet
from sr_keras.training.config import TrainConfig
from sr_keras.weights.pretrained import SHIPPED_MODELS

TINY = dict(num_blocks=1, num_features=8)


def random_srresnet(seed, **kwargs):
    model = SRResNet(**{**TINY, **kwargs})
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) + (1.0 if "variance" in v.path else 0.0) for w, v in zip(model.get_weights(), model.weights)])
    return model


def write_run_dir(folder, generator, config):
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "config.json").write_text(config.to_json())
    tf.train.Checkpoint(generator=generator).save(str(folder / "checkpoints" / "ckpt"))
    return str(folder)


class Doubler(tf.Module):
    """A SavedModel with sr-export's serve_float signature: nearest x2 times `factor`."""

    def __init__(self, factor):
        super().__init__()
        self.factor = tf.Variable(factor)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def serve_float(self, image):
        size = tf.shape(image)[1:3] * 2
        return {"image": tf.image.resize(image, size, method="nearest") * self.factor}


def test_resolve_names_every_form(tmp_path):
    assert loader.resolve("bicubic").kind == "bicubic"
    for name in SHIPPED_MODELS:
        assert loader.resolve(name) == loader.ModelSpec(name, "shipped", "", name)
    (tmp_path / "g.keras").write_bytes(b"")
    assert loader.resolve(str(tmp_path / "g.keras")).name == "g.keras"
    with pytest.raises(FileNotFoundError, match=r"nope\.weights\.h5: no such model file"):
        loader.resolve(str(tmp_path / "nope.weights.h5"))
    with pytest.raises(ValueError, match=r"neither a SavedModel .* nor an sr-train run dir"):
        loader.resolve(str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown model 'no-such'.*krasserm-srgan, krasserm-srresnet, realesrgan-x4plus.*realsr-df2k-x4"):
        loader.resolve("no-such")
    with pytest.raises(ValueError, match=r"bicubic interpolation is not a Keras model"):
        loader.load_generator("bicubic")


def test_saved_model_base_dir_loads_the_newest_version_named_by_folder(tmp_path):
    base = tmp_path / "serving" / "srgan"
    for version, factor in ((1, 0.5), (2, 0.25)):
        module = Doubler(factor)
        tf.saved_model.save(module, str(base / str(version)), signatures={"serve_float": module.serve_float})
    (base / "10").mkdir()  # a version folder without a SavedModel (still being written): not a version
    (base / ".3.partial-1-ab").mkdir()  # sr-export's staging folder: not a version
    assert export_paths.version_folders(str(base), servable_only=True) == [1, 2]
    assert export_paths.version_folders(str(base)) == [1, 2, 10]  # taken for a new export, even if half-written
    lr = np.full((3, 4, 3), 200, np.uint8)
    newest = loader.load_upscaler(str(base))
    assert (newest.name, newest.scale) == ("srgan", 2)
    np.testing.assert_allclose(newest(lr), np.full((6, 8, 3), 200 / 255 * 0.25), rtol=1e-6)
    first = loader.load_upscaler(str(base / "1"))
    assert first.name == "srgan"  # a version folder is named by its model folder, not "1"
    np.testing.assert_allclose(first(lr), np.full((6, 8, 3), 200 / 255 * 0.5), rtol=1e-6)
    with pytest.raises(ValueError, match=r"a SavedModel .* is not a Keras model"):
        loader.load_generator(str(base))


def test_init_generator_copies_every_weight_of_a_matching_source(tmp_path):
    source = random_srresnet(0)
    source.save(tmp_path / "g.keras")
    source.save_weights(tmp_path / "g.weights.h5")
    run = write_run_dir(tmp_path / "run", source, TrainConfig(generator="srresnet", **TINY))
    for spec in (str(tmp_path / "g.keras"), str(tmp_path / "g.weights.h5"), run):
        generator = SRResNet(**TINY)
        loader.init_generator_weights(generator, spec)
        for a, b in zip(generator.get_weights(), source.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_init_generator_refuses_a_source_that_does_not_match(tmp_path):
    source = random_srresnet(1)
    source.save(tmp_path / "one_block.keras")
    source.save_weights(tmp_path / "one_block.weights.h5")
    target = SRResNet(num_blocks=2, num_features=8)
    for spec in (tmp_path / "one_block.keras", tmp_path / "one_block.weights.h5"):
        with pytest.raises(ValueError, match=rf"init_generator .*{spec.name}: does not match .*'num_blocks': 1 vs 2"):
            loader.init_generator_weights(target, str(spec))
    with pytest.raises(ValueError, match=r"different model classes SRResNet vs RRDBNet"):
        loader.init_generator_weights(RRDBNet(num_blocks=1, num_features=8, growth=4), str(tmp_path / "one_block.keras"))
    with pytest.raises(ValueError, match=r"config key 'tanh_output': True vs '<missing>'"):
        tanh = random_srresnet(2, tanh_output=True)
        tanh.save(tmp_path / "tanh.keras")
        loader.init_generator_weights(SRResNet(**TINY), str(tmp_path / "tanh.keras"))


def test_run_dir_whose_checkpoint_lacks_or_misfits_generator_weights_is_refused(tmp_path):
    config = TrainConfig(generator="srresnet", **TINY)
    # What expect_partial() alone allowed: a checkpoint without the generator restores nothing and
    # leaves every layer at its random initialisation.
    run = tmp_path / "no_generator"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text(config.to_json())
    tf.train.Checkpoint(discriminator=random_srresnet(3)).save(str(run / "checkpoints" / "ckpt"))
    with pytest.raises(ValueError, match=r"no intact checkpoint \(.*ckpt-1 \(does not fit: .*\): none holds the run's generator"):
        loader.init_generator_weights(SRResNet(**TINY), str(run))
    # config.json says 2 blocks, the checkpoint has 1.
    misfit = write_run_dir(tmp_path / "misfit", random_srresnet(3), TrainConfig(generator="srresnet", num_blocks=2, num_features=8))
    with pytest.raises(ValueError, match=r"ckpt-1 \(does not fit: .*incompatible tensor.*none holds the run's generator"):
        loader.load_generator(misfit)


def test_run_dir_whose_newest_checkpoint_is_damaged_loads_the_one_before(tmp_path, caplog):
    # A run killed while writing ckpt-2: sr-eval / sr-upscale take ckpt-1's generator, as sr-train resumes from it.
    import logging

    config = TrainConfig(generator="srresnet", **TINY)
    first, second = random_srresnet(5), random_srresnet(6)
    run = write_run_dir(tmp_path / "run", first, config)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(generator=second), str(tmp_path / "run" / "checkpoints"), max_to_keep=None)
    manager.save(checkpoint_number=2)  # the index now names ckpt-2 as the latest
    for data in (tmp_path / "run" / "checkpoints").glob("ckpt-2.data-*"):
        data.write_bytes(b"\xde\xad\xbe\xef" * (data.stat().st_size // 4))
    with caplog.at_level(logging.WARNING):
        loaded = loader.load_generator(run)
    for expected, got in zip(first.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(got, expected)
    warnings = [r.getMessage() for r in caplog.records if "; using " in r.getMessage()]
    assert len(warnings) == 1 and "ckpt-2 (unreadable" in warnings[0] and warnings[0].endswith("ckpt-1 instead")


def test_training_builder_uses_the_loader_check(tmp_path):
    from sr_keras.training import builders

    random_srresnet(4).save(tmp_path / "g.keras")
    with pytest.raises(ValueError, match=r"does not match the generator to train"):
        builders.load_generator_weights(SRResNet(num_blocks=3, num_features=8), str(tmp_path / "g.keras"))


@pytest.mark.parametrize("program,flag", [("evaluate", "--model"), ("upscale", "--model"), ("interpolate", "--psnr_model")])
def test_every_programs_model_help_lists_the_shipped_names_and_forms(program, flag):
    result = subprocess.run(
        [sys.executable, "-m", f"sr_keras.programs.{program}", "--helpshort"], capture_output=True, text=True, timeout=300,
        env={**os.environ, "COLUMNS": "1000"},
    )
    text = " ".join(result.stdout.split())
    assert flag in text, result.stdout + result.stderr
    for name in SHIPPED_MODELS:
        assert name in text
    for form in (".keras", ".weights.h5", "run dir"):
        assert form in text
    if program != "interpolate":
        assert "bicubic" in text and "SavedModel base dir" in text


def test_a_loaded_batch_norm_srresnet_upscales_with_batch_norm_folded(tmp_path):
    import keras

    model = random_srresnet(4, tanh_output=True, batch_norm_epsilon=1e-3)  # krasserm's form
    path = str(tmp_path / "g.keras")
    model.save(path)
    upscaler = loader.load_upscaler(path)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in upscaler.model.layers)
    assert upscaler.model.tanh_output
    lr = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    expected = model(lr[None].astype(np.float32) / 255.0, training=False).numpy()[0]
    np.testing.assert_allclose(upscaler(lr), expected, rtol=0, atol=1e-4)  # the BN model's output (float32 rounding)
    # A model passed as an object is not folded: its weights may still change (network interpolation).
    assert loader.load_upscaler(model).model is model
