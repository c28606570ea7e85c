"""Fixtures of the hardening tests: the export tests' tiny generators."""

import pytest

from tests.export.conftest import ARCHS, tiny_model


@pytest.fixture(scope="session")
def models():
    return {arch: tiny_model(arch) for arch in ARCHS}


@pytest.fixture(scope="session")
def bomb_png(tmp_path_factory) -> str:
    """A valid 16000 x 16000 RGB PNG of about 750 KB (768 MB decoded), written row by row."""
    from tests.hardening.bad_files import png_of_zeros

    path = str(tmp_path_factory.mktemp("bomb") / "bomb_16000x16000.png")
    png_of_zeros(path, 16000, 16000)
    return path
