"""Suite-wide: the longest test files run first.

pytest-xdist runs one file per worker (setup.cfg: ``-n auto --dist loadfile``) and hands the files
out in the order it is given: alphabetical by default, or, by its own default reordering, the files
with the most tests first (setup.cfg turns that off with ``--no-loadscope-reorder``). Either way,
long files such as test_resume.py (1.5-2 min on its own here) could start late and leave one of the
2 cores idle at the end. Starting the long files first lets the short ones fill in around them.
The list is by measured time per file (`pytest --durations=0`, 2-core Zen 3, 2026-12-03 evening), longest
first. It only orders: a stale entry costs balance, never a test.
"""

import os

import pytest

LONGEST_FILES_FIRST = (
    "tests/training/test_resume.py",
    "tests/programs/test_demo.py",
    "tests/export/test_saved_model.py",
    "tests/training/test_train_steps.py",
    "tests/hardening/test_training_guards.py",
    "tests/export/test_tflite.py",
    "tests/hardening/test_export_guards.py",
    "tests/test_benchmarks.py",
    "tests/hardening/test_serving_memory.py",
    "tests/training/test_multi_worker.py",
    "tests/export/test_export_program.py",
    "tests/training/test_stops.py",
    "tests/programs/test_evaluate.py",
    "tests/test_interpolation.py",
    "tests/archs/test_conv2d_winograd.py",
    "tests/weights/test_pytorch_import.py",
    "tests/hardening/test_upscale_program.py",
    "tests/losses/test_perceptual.py",
    "tests/training/test_mirrored.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: index for index, path in enumerate(LONGEST_FILES_FIRST)}
    # A node id starts with its file's path from the root dir (tests/...::test_name[...]).
    # Stable sort: the order inside each file, and of the other files, is kept.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture
def tensorflow_blocked_env(tmp_path_factory):
    """An environment for a subprocess in which `import tensorflow` fails with "TensorFlow was imported":
    a program run in it proves it reported its error (or did its work) without TensorFlow."""
    blocker = tmp_path_factory.mktemp("blocked") / "tensorflow"
    blocker.mkdir()
    (blocker / "__init__.py").write_text('raise ImportError("TensorFlow was imported")\n')
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(blocker.parent), os.environ.get("PYTHONPATH")]))}
