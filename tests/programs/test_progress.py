"""sr_keras.programs.progress: lines with rate and time left, throttling, quiet."""

from __future__ import annotations

import io

import pytest

from sr_keras.programs import progress


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def not_quiet():
    progress.set_quiet(False)
    yield
    progress.set_quiet(None)


def test_lines_have_count_rate_and_time_left():
    clock, stream = FakeClock(), io.StringIO()
    bar = progress.Progress(4, "scoring", unit="image", stream=stream, clock=clock)
    clock.now += 2.0
    bar.update(note="a.png: 31.25 dB")
    clock.now += 6.0  # 8 s for 2 images: 4 s each, 2 left -> 8 s left
    bar.update()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "scoring: 1/4 images (25%) 2.0 s/image, 0:06 left, 0:02 elapsed  a.png: 31.25 dB"
    assert lines[1] == "scoring: 2/4 images (50%) 4.0 s/image, 0:08 left, 0:08 elapsed"


def test_fast_jobs_show_items_per_second_and_hours():
    assert progress.format_rate(30, 10.0, "step") == "3.0 steps/s"
    assert progress.format_duration(3723) == "1:02:03"
    assert progress.format_duration(None) == "?"


def test_min_interval_throttles_but_keeps_the_last_line():
    clock, stream = FakeClock(), io.StringIO()
    items = list(range(10))
    for _ in progress.track(items, "steps", unit="step", stream=stream, clock=clock, min_interval=5.0):
        clock.now += 1.0
    lines = stream.getvalue().splitlines()
    # lines at 1 s (first), 6 s (5 s later) and the last one at 10 s
    assert [line.split(":")[1].split()[0] for line in lines] == ["1/10", "6/10", "10/10"]


def test_quiet_prints_nothing():
    progress.set_quiet(True)
    stream = io.StringIO()
    with progress.Progress(2, "x", stream=stream) as bar:
        bar.update()
        bar.update()
    progress.say("hello", stream)
    stages = progress.Stages(total=2, stream=stream)
    stages.start("a", "first")
    assert stream.getvalue() == ""


def test_stages_number_lines_and_record_durations():
    clock, stream = FakeClock(), io.StringIO()
    stages = progress.Stages(total=3, stream=stream, clock=clock)
    stages.start("train", "training")
    clock.now += 12.34
    stages.start("evaluate", "evaluating")
    clock.now += 1.0
    stages.finish()
    assert stages.seconds == {"train": 12.3, "evaluate": 1.0}
    assert stream.getvalue().splitlines() == ["[    0.0s] stage 1/3: training", "[   12.3s] stage 2/3: evaluating"]


def test_quiet_follows_the_flags(tmp_path):
    import subprocess
    import sys

    code = (
        "from absl import app; from sr_keras.programs import progress, define_quiet_flag; define_quiet_flag();"
        "app.run(lambda argv: progress.say('visible'))"
    )
    for arguments, expected in (([], "visible\n"), (["--quiet"], ""), (["--verbosity=-1"], "")):
        result = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stderr == expected, arguments
