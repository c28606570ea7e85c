"""Progress lines for the jobs a person waits for: on stderr, with rate and time left, quiet on demand.

    from sr_keras.programs import progress

    with progress.Progress(len(pairs), "scoring realesrgan-x4plus", unit="image") as bar:
        for pair in pairs:
            score = ...
            bar.update(note=f"{pair.name}: {score.psnr:.2f} dB")   # one item done

    for path in progress.track(paths, "upscaling", unit="image", note=os.path.basename):
        ...                                                      # the same, around a loop

    stages = progress.Stages(total=5)
    stages.start("evaluate", "evaluating on the embedded photos")  # "[  12.3s] stage 2/5: evaluating ..."
    stages.log("bicubic: 31.48 dB")                                # "[  12.9s] bicubic: 31.48 dB"
    stages.finish()                                                # stages.seconds == {"evaluate": 0.6, ...}

A progress line reads

    scoring realesrgan-x4plus: 3/14 images (21%) 4.1 s/image, 0:45 left, 0:12 elapsed  baby.png: 31.25 dB

On a terminal `Progress` redraws one line (`\\r`), ending it when the job ends; into a file or a
pipe it writes one line per update, at most one every `min_interval` seconds (the last one always).
Everything goes to stderr, so stdout keeps only results (tables, paths) for scripts.

Quiet: nothing is printed when the program's `--quiet` flag is set (`run_program` defines it), when
absl's `--verbosity` is below 0 (`--verbosity=-1`: warnings only), or after `set_quiet(True)`
(library use; `set_quiet(None)` returns to the flags).  Errors are never progress: raise them.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Iterable, Iterator, TextIO, TypeVar

Item = TypeVar("Item")

_quiet_override: bool | None = None


def set_quiet(quiet: bool | None) -> None:
    """Force progress off (True) or on (False) for this process; None = follow the flags."""
    global _quiet_override
    _quiet_override = quiet


def is_quiet() -> bool:
    """True after set_quiet(True), or with --quiet, or with absl --verbosity < 0 (once flags are parsed)."""
    if _quiet_override is not None:
        return _quiet_override
    from absl import flags
    from absl import logging as absl_logging

    values = flags.FLAGS
    if not values.is_parsed():  # library use (tests, notebooks): absl's pre-parse verbosity means nothing
        return False
    if "quiet" in values and values["quiet"].value:
        return True
    return absl_logging.get_verbosity() < 0


def format_duration(seconds: float) -> str:
    """0:07, 12:34, 1:02:03 (h:mm:ss once past an hour); '?' for an unknown time."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(done: float, seconds: float, unit: str) -> str:
    """'2.5 images/s', or '4.1 s/image' when slower than one per second."""
    if done <= 0 or seconds <= 0:
        return f"? s/{unit}"
    rate = done / seconds
    return f"{rate:.1f} {unit}s/s" if rate >= 1 else f"{seconds / done:.1f} s/{unit}"


def say(message: str, stream: TextIO | None = None) -> None:
    """One line on stderr (or `stream`), unless quiet."""
    if not is_quiet():
        stream = stream or sys.stderr
        stream.write(message + "\n")
        stream.flush()


class Progress:
    """Counts `total` items of a job and reports rate and time left (see the module docstring).

    total: items expected (None if unknown: no percentage or time left).  label: what is being
    done.  unit: the item's name, singular ("image", "step").  min_interval: seconds between two
    lines when writing to a file or pipe (0 = every update).  stream: default stderr.
    clock: a function returning seconds (time.monotonic; tests pass a fake one).
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        unit: str = "item",
        min_interval: float = 0.0,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = total
        self.label = label
        self.unit = unit
        self.min_interval = min_interval
        self.stream = stream or sys.stderr
        self.clock = clock
        self.done = 0
        self.start_time = clock()
        self._last_line_time: float | None = None
        self._redraw = bool(getattr(self.stream, "isatty", lambda: False)())
        self._open_line = False
        self.quiet = is_quiet()

    def elapsed(self) -> float:
        return self.clock() - self.start_time

    def seconds_left(self) -> float | None:
        """(total - done) x the mean seconds per item so far; None before the first item or without a total."""
        if self.total is None or self.done <= 0:
            return None
        return (self.total - self.done) * self.elapsed() / self.done

    def line(self, note: str = "") -> str:
        """The progress line as it stands now."""
        elapsed = self.elapsed()
        plural = self.unit + ("s" if (self.total if self.total is not None else self.done) != 1 else "")
        if self.total is not None:
            percent = 100.0 * self.done / self.total if self.total else 100.0
            count = f"{self.done}/{self.total} {plural} ({percent:.0f}%)"
        else:
            count = f"{self.done} {plural}"
        timing = format_rate(self.done, elapsed, self.unit)
        if self.total is not None:
            timing += f", {format_duration(self.seconds_left())} left"
        timing += f", {format_duration(elapsed)} elapsed"
        return f"{self.label}: {count} {timing}" + (f"  {note}" if note else "")

    def update(self, count: int = 1, note: str = "") -> None:
        """`count` more items are done; `note` (e.g. the item's name and score) ends the line."""
        self.done += count
        if self.quiet:
            return
        now = self.clock()
        last = self.total is not None and self.done >= self.total
        if self._redraw:
            self.stream.write("\r\033[K" + self.line(note))
            self._open_line = True
            if last:
                self.stream.write("\n")
                self._open_line = False
        elif last or self._last_line_time is None or now - self._last_line_time >= self.min_interval:
            self.stream.write(self.line(note) + "\n")
            self._last_line_time = now
        self.stream.flush()

    def close(self) -> None:
        """End a redrawn line (a job stopped early, or without a total)."""
        if self._open_line and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
        self._open_line = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track(
    items: Iterable[Item],
    label: str,
    unit: str = "item",
    total: int | None = None,
    note: Callable[[Item], str] | None = None,
    **options,
) -> Iterator[Item]:
    """Yield `items`, reporting each one as done when the loop asks for the next (`Progress` options).

    total defaults to len(items) when items has a length.  note(item) ends that item's line.
    """
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(total, label, unit=unit, **options) as bar:
        for item in items:
            yield item
            bar.update(note=note(item) if note else "")


class Stages:
    """`[  12.3s] stage 2/5: message` lines for a job of several stages, and each stage's duration.

    total: how many stages (numbers the lines), or None.  stream: default stderr.  `seconds` maps
    each finished stage's name to its duration (one decimal), in order.
    """

    def __init__(self, total: int | None = None, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.stream = stream
        self.clock = clock
        self.start_time = clock()
        self.seconds: dict[str, float] = {}
        self.number = 0
        self._current: str | None = None
        self._since = self.start_time

    def elapsed(self) -> float:
        return self.clock() - self.start_time

    def log(self, message: str) -> None:
        """`[elapsed] message`, unless quiet."""
        say(f"[{self.elapsed():7.1f}s] {message}", self.stream)

    def start(self, name: str, message: str, new_number: bool = True) -> None:
        """End the running stage and start `name`; new_number=False continues the stage number (a sub-stage)."""
        self.finish()
        self._current, self._since = name, self.clock()
        if new_number:
            self.number += 1
        prefix = f"stage {self.number}/{self.total}: " if self.total else f"stage {self.number}: "
        self.log(prefix + message)

    def finish(self) -> None:
        """Record the running stage's duration (nothing if none is running)."""
        if self._current is not None:
            self.seconds[self._current] = round(self.clock() - self._since, 1)
            self._current = None


def keras_callback(total_steps: int, label: str, min_interval: float = 10.0, note_keys: int = 2):
    """A Keras callback reporting training updates as a `Progress` (unit "step").

    The count is the optimizer's `iterations` (so a resumed run starts where it stopped, and
    steps_per_execution > 1 counts right); the line ends with the first `note_keys` entries of
    Keras' logs (the losses).  Pass it to `sr_keras.training.loop.train(..., callbacks=[...])`.
    """
    import keras

    class _ProgressCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = int(self.model.optimizer.iterations.numpy())
            self.bar = Progress(total_steps - self.start, label, unit="step", min_interval=min_interval)

        def on_train_batch_end(self, batch, logs=None):
            done = int(self.model.optimizer.iterations.numpy()) - self.start
            items = []
            for key, value in (logs or {}).items():
                try:
                    items.append(f"{key} {float(value):.4g}")
                except (TypeError, ValueError):
                    continue
            note = ", ".join(items[:note_keys])
            self.bar.update(done - self.bar.done, note=note)

        def on_train_end(self, logs=None):
            self.bar.close()

    return _ProgressCallback()
