"""Files written all or nothing: through a temporary sibling that `os.replace` moves into place.

A reader (or a run killed mid-write) sees either the old file or the complete new one, never a
half-written one.  Used for PNG outputs, TFLite models, run configs and generator.keras.
"""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def replaced_atomically(path: str, suffix: str = ""):
    """Yield a temporary path next to `path` (hidden, ending in `suffix`, e.g. ".keras" for writers
    that check the extension); when the block ends without error it replaces `path`, otherwise it
    is removed and the error propagates."""
    folder, name = os.path.split(path)
    partial = os.path.join(folder, f".{name}.partial-{os.getpid()}{suffix}")
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise


def write_bytes_atomically(path: str, content: bytes) -> None:
    """Write `content` to `path` all or nothing (flushed to disk before the rename)."""
    with replaced_atomically(path) as partial:
        with open(partial, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())


def write_text_atomically(path: str, text: str) -> None:
    """`write_bytes_atomically` of UTF-8 text."""
    write_bytes_atomically(path, text.encode("utf-8"))
