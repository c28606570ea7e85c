"""Fixtures of the MOS tests: tiny studies made from generated images, a real server process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

EVIDENCE_DIR = os.environ.get("SR_KERAS_MOS_EVIDENCE")  # set to write the committed evidence files


def write_images(folder, count, size=(48, 64), seed=0):
    """`count` smooth colour PNGs (gradients plus a few shapes) of size (height, width)."""
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    height, width = size
    y, x = np.mgrid[0:height, 0:width]
    for index in range(count):
        a, b, c = rng.uniform(0.02, 0.2, 3)
        image = np.stack([np.sin(a * x + index), np.cos(b * y), np.sin(c * (x + y))], -1) * 100 + 128
        cy, cx = rng.integers(8, height - 8), rng.integers(8, width - 8)
        image[(y - cy) ** 2 + (x - cx) ** 2 < 36] = rng.uniform(0, 255, 3)
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(os.path.join(folder, f"img{index}.png"))
    return folder


def make_study(root, raters=3, test_images=4, calibration_images=1, methods=("nearest", "bicubic"), **kwargs):
    """A study with one test set of generated images and a separate calibration folder."""
    from sr_keras.mos import study

    hr = write_images(os.path.join(root, "hr"), test_images, seed=1)
    calibration = write_images(os.path.join(root, "calibration"), calibration_images, seed=2)
    directory = os.path.join(root, "study")
    study.create_study(directory, [("tiny", hr)], list(methods), calibration_dir=calibration, raters=raters, **kwargs)
    return directory


@pytest.fixture(scope="session")
def template_study(tmp_path_factory):
    """A study made once per session (3 raters, nearest + bicubic + HR on 4 images, 1 calibration
    image, 1 retest duplicate each); tests get a fresh copy with `study_copy`."""
    return make_study(str(tmp_path_factory.mktemp("template")), raters=3)


@pytest.fixture()
def study_copy(template_study, tmp_path):
    target = str(tmp_path / "study")
    shutil.copytree(template_study, target)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`sr-mos serve` in its own process, as a study owner runs it."""

    def __init__(self, study_dir: str, port: int | None = None, threads: int = 8):
        self.study_dir, self.port, self.threads = study_dir, port or free_port(), threads
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        self.log = open(os.path.join(os.path.dirname(self.study_dir), f"server-{self.port}.log"), "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sr_keras.programs.mos", "serve", f"--study={self.study_dir}",
             f"--port={self.port}", f"--threads={self.threads}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.log.close()


@pytest.fixture()
def server(study_copy):
    running = ServerProcess(study_copy).start()
    yield running
    running.stop()


def stored_ratings(study_dir):
    from sr_keras.mos import database

    connection = database.connect(study_dir)
    try:
        return database.all_ratings(connection)
    finally:
        connection.close()


def tokens_of(study_dir):
    from sr_keras.mos import database

    connection = database.connect(study_dir)
    try:
        return [row["token"] for row in database.raters(connection)]
    finally:
        connection.close()
