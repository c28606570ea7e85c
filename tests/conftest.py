"""Suite-wide: the longest test files run first.

pytest-xdist runs one file per worker (setup.cfg: ``-n auto --dist loadfile``) and hands the files
out in collection order, which is alphabetical, so tests/training and tests/weights came last: on
2 cores one worker then finished test_resume.py (3-4 min alone) while the other was idle. Starting
the long files first lets the short ones fill in around them. The list is by measured time
(`pytest --durations=60`, 2-core Zen 3, 2026-12-03), longest first; it only orders, so a stale
entry costs balance, never a test.
"""

LONGEST_FILES_FIRST = (
    "tests/training/test_resume.py",
    "tests/training/test_stops.py",
    "tests/hardening/test_upscale_program.py",
    "tests/training/test_train_steps.py",
    "tests/export/test_saved_model.py",
    "tests/hardening/test_training_guards.py",
    "tests/programs/test_demo.py",
    "tests/test_benchmarks.py",
    "tests/mos/test_program.py",
    "tests/hardening/test_export_guards.py",
    "tests/export/test_export_program.py",
    "tests/training/test_multi_worker.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: index for index, path in enumerate(LONGEST_FILES_FIRST)}
    root = str(config.rootpath)

    def file_rank(item):
        path = str(item.path)
        relative = path[len(root) + 1 :] if path.startswith(root) else path
        return rank.get(relative, len(rank))

    items.sort(key=file_rank)  # stable: the order inside each file, and of the other files, is kept
