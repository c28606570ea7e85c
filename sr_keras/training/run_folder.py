"""The run folder sr-train writes, apart from its checkpoints: one writer at a time (a lock that a
killed process releases), the config of every start, and a generator.keras written atomically.

No TensorFlow here: programs and tests read and lock run folders without paying for its import.
"""

from __future__ import annotations

import datetime
import fcntl
import glob
import json
import os
import zipfile

from sr_keras.atomic_files import replaced_atomically, write_text_atomically


class RunDirInUse(RuntimeError):
    """Another process holds the run directory's lock."""


def lock_run_dir(run_dir: str):
    """Take the run directory's exclusive lock (fcntl.flock on run_dir/.lock); returns the open file.

    The lock lives as long as the file is open; the kernel drops it when the process ends, even on
    kill -9, so a killed run never leaves the folder stuck.  Raises RunDirInUse naming the holder.
    """
    path = os.path.join(run_dir, ".lock")
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown pid"
        handle.close()
        raise RunDirInUse(
            f"{run_dir} is in use by another sr-train ({holder}); wait for it to end or stop it. The lock is {path}; "
            "it is released when that process ends, even if it is killed"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {os.uname().nodename}, since {_utc_now()}\n")
    handle.flush()
    return handle


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def write_config_record(run_dir: str, config, start_step: int) -> str:
    """Record the config (a TrainConfig) of this start: configs/config-<step>-<UTC time>.json, and config.json
    if the run has none yet (the original settings, never overwritten).  Returns the record path."""
    text = config.to_json()
    original = os.path.join(run_dir, "config.json")
    if not os.path.exists(original):
        write_text_atomically(original, text)
    folder = os.path.join(run_dir, "configs")
    os.makedirs(folder, exist_ok=True)
    record = os.path.join(folder, f"config-{start_step:08d}-{_utc_now()}.json")
    write_text_atomically(record, text)
    return record


def generator_is_readable(path: str) -> bool:
    """True if `path` is a complete .keras archive (a zip whose members pass their CRC check)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            return "config.json" in names and archive.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def save_generator(generator, path: str) -> None:
    """`generator.save(path)` (a keras.Model) through a temporary sibling and `os.replace` (never half-written)."""
    with replaced_atomically(path, suffix=".keras") as partial:
        generator.save(partial)


def load_run_config(run_dir: str) -> dict:
    """The config of an existing run directory's newest start (configs/), else its config.json,
    or {} for a new run.  A corrupt file raises ValueError naming it."""
    # config-<step>-<UTC time>.json: the newest start is the latest time (then the highest step).
    records = sorted(glob.glob(os.path.join(run_dir, "configs", "config-*.json")), key=lambda p: (p.rsplit("-", 1)[-1], p))
    path = records[-1] if records else os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as handle:
            values = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); fix it or delete it "
            "and give the settings as flags"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the run's config ({error})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a JSON object of config fields, got {type(values).__name__}")
    values["lr_milestones"] = tuple(values.get("lr_milestones", ()))
    return values
