"""Every console program's --help: exit 0, a paragraph, examples, every flag described, required flags marked."""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def console_scripts() -> dict[str, str]:
    """name -> 'module:function' from setup.cfg (so programs added later are checked too)."""
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict((part.strip() for part in line.split("=", 1)) for line in lines if line.strip())


# The flags each program cannot run without (from the issue and the programs' behaviour), written
# out here rather than read from the code.
REQUIRED = {
    "sr-upscale": {"model", "input", "output"},
    "sr-export": {"model", "output"},
    "sr-serve-client": {"input", "output", "model_name"},
    "sr-train": {"run_dir"},
    "sr-interpolate": {"psnr_model", "gan_model"},
    "sr-import-pytorch": {"checkpoint", "output"},
    "sr-demo": set(),
    "sr-pd-plane": {"hr_dir", "output_dir"},
    "python -m sr_keras.reports": {"run_dir"},
}


def run_help(name: str, entry: str, *arguments: str) -> subprocess.CompletedProcess:
    module, function = entry.split(":")
    code = f"import sys; sys.argv[0] = {name!r}; from {module} import {function}; {function}()"
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=120, env=env)


def parse_flags_section(text: str) -> dict[str, tuple[str, str]]:
    """flag name -> (its head line, its help text) from the "Flags" section."""
    section = text.split("\nFlags (", 1)[1].split("\nCommon absl flags", 1)[0]
    entries: dict[str, tuple[str, str]] = {}
    current = None
    for line in section.splitlines():
        match = re.match(r"^  --(?:\[no\])?(\w+)", line)
        if match:
            current = match.group(1)
            entries[current] = (line, "")
        elif current and line.startswith("      "):
            head, body = entries[current]
            entries[current] = (head, (body + " " + line.strip()).strip())
    return entries


# Programs run as modules, not console scripts.
MODULE_PROGRAMS = {"python -m sr_keras.reports": "sr_keras.reports:run"}


@pytest.mark.parametrize("name", sorted(console_scripts()) + sorted(MODULE_PROGRAMS))
def test_help(name):
    result = run_help(name, {**console_scripts(), **MODULE_PROGRAMS}[name], "--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    intro = text.split("\nFlags (", 1)[0]
    assert intro.startswith(f"{name}: "), intro[:200]
    # A paragraph of what it does: a block of unindented prose of several lines.
    blocks = [block for block in intro.split("\n\n")[1:] if block.strip() and not block.startswith(" ")]
    assert any(len(block) >= 150 for block in blocks), f"{name}: no paragraph describing the program"
    # Two or three examples: indented command lines running the program.
    examples = [line for line in intro.splitlines() if re.match(rf"^\s+{re.escape(name)}(\s|$)", line)]
    assert len(examples) >= 2, f"{name}: {len(examples)} example command lines"
    entries = parse_flags_section(text)
    assert entries, f"{name}: no flags listed"
    for flag, (head, body) in entries.items():
        assert len(body) >= 10, f"{name} --{flag}: no help text ({body!r})"
        assert "Override config field" not in body
    marked = {flag for flag, (head, _) in entries.items() if "(required)" in head}
    if name in REQUIRED:
        assert marked == REQUIRED[name], f"{name}: required {sorted(marked)}, expected {sorted(REQUIRED[name])}"
    assert "quiet" in entries


def test_short_and_full_help_exit_zero():
    entry = console_scripts()["sr-upscale"]
    short = run_help("sr-upscale", entry, "-h")
    assert short.returncode == 0 and "--model=TEXT  (required)" in short.stdout
    full = run_help("sr-upscale", entry, "--helpfull")
    assert full.returncode == 0 and "--verbosity" in full.stdout and "--tile_pad" in full.stdout
    # A flag error still fails, with absl's one line.
    bad = run_help("sr-upscale", entry, "--no_such_flag=1")
    assert bad.returncode == 1 and "no_such_flag" in bad.stderr


def test_train_help_documents_every_config_field_and_lists_the_experiments():
    from sr_keras.training.config import TrainConfig

    result = run_help("sr-train", console_scripts()["sr-train"], "--help")
    assert result.returncode == 0
    entries = parse_flags_section(result.stdout)
    for field in dataclasses.fields(TrainConfig):
        assert field.name in entries, field.name
        assert "TrainConfig default:" in entries[field.name][1]
    # Allowed values, units and formats the issue names.
    for flag, words in {
        "gan": ("none", "standard", "relativistic"),
        "generator": ("srresnet", "rrdbnet"),
        "discriminator": ("srgan", "vgg_style"),
        "pixel_loss": ("mse", "l1"),
        "strategy": ("default", "mirrored", "multi_worker", "tpu"),
        "mixed_precision": ("bfloat16",),
        "checkpoint_every": ("updates",),
        "log_every": ("updates",),
        "validate_every": ("updates", "0 (the default) = at every checkpoint"),
        "lr_milestones": ("comma-separated", "lr_gamma"),
    }.items():
        for word in words:
            assert word in entries[flag][1], (flag, word)
    experiments = result.stdout.split("Experiment files (--config):", 1)[1].split("\nFlags (", 1)[0]
    for path in ("experiments/srresnet_mse.toml", "experiments/srgan_vgg54.toml", "experiments/esrgan_gan.toml"):
        assert path in experiments
    assert "SRResNet-MSE (Ledig et al. 2017" in experiments  # the description's first sentence


def test_field_help_falls_back_to_the_definition_comment(monkeypatch):
    from sr_keras.programs import train
    from sr_keras.training import config

    documented = train.field_help()
    assert documented["lr_gamma"].startswith("float > 0.")
    # A field missing from the docstring's list gets its comment in config.py.
    monkeypatch.setattr(config.TrainConfig, "__doc__", "No field list.")
    assert documented["growth"] != train.field_help()["growth"]
    assert train.field_help()["growth"] == "RRDBNet dense-block growth channels"
