"""The perception-distortion plane: RMSE by hand, sweeps that meet their endpoint models, sr-pd-plane."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sr_keras import evaluation, metrics
from sr_keras import perception_distortion as plane
from sr_keras.archs import SRResNet
from sr_keras.data import pipeline, sources

from .test_interpolation import perturbed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_rmse_by_hand():
    reference = np.zeros((10, 10, 3), np.uint8)
    test = reference.copy()
    test[4, 5] = 255  # white vs black: Y 235 vs 16 at 1 of 100 pixels
    assert metrics.rmse(reference, test) == pytest.approx(219.0 / 10.0, abs=1e-12)
    assert metrics.rmse(reference, test, crop=1) == pytest.approx(219.0 / 8.0, abs=1e-12)  # 64 pixels left
    assert metrics.rmse(reference, reference) == 0.0
    # PSNR and RMSE are one number: 20 log10(255 / RMSE).
    assert metrics.psnr(reference, test) == pytest.approx(20 * np.log10(255.0 / 21.9), abs=1e-9)


def own_y(image):
    """MATLAB rgb2ycbcr's Y on [0, 255], written out here."""
    r, g, b = (image[..., c].astype(np.float64) / 255.0 for c in range(3))
    return 16.0 + 65.481 * r + 128.553 * g + 24.966 * b


def smooth_photo(seed, height=48, width=56):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    image = 128 + sum(np.sin(rng.uniform(0.05, 0.4) * yy[..., None] + rng.uniform(0.05, 0.4) * xx[..., None] + rng.uniform(0, 6, 3)) * 40 for _ in range(3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def generators(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generators")
    paths = []
    for name, seed in (("psnr", 1), ("gan", 2)):
        model = perturbed(SRResNet(num_blocks=1, num_features=8, name=name), seed)
        path = str(folder / f"{name}.keras")
        model.save(path)
        paths.append(path)
    return paths


def test_sweeps_meet_their_endpoints_and_blend_pixels(generators):
    psnr_path, gan_path = generators
    pairs = pipeline.evaluation_pairs([sources.NamedImage(f"p{i}.png", smooth_photo(i)) for i in range(2)], 4)
    metric_list = evaluation.metrics_named(["rmse", "psnr"])
    points = plane.plane_points(pairs, ["bicubic", psnr_path, gan_path], psnr_path, gan_path, [0.0, 0.5, 1.0], metric_list)
    by_label = {p.label: p for p in points}
    assert [p.family for p in points] == [plane.MODEL] * 3 + [plane.NETWORK_SWEEP] * 3 + [plane.IMAGE_SWEEP] * 3
    bicubic, psnr_point, gan_point = points[:3]
    assert bicubic.label == "bicubic" and "psnr" in psnr_point.label and "gan" in gan_point.label
    # alpha 0 and 1 of both sweeps are the endpoint models' images: the same scores, exactly.
    for family in ("network", "image"):
        assert by_label[f"{family} alpha=0"].images == psnr_point.images
        assert by_label[f"{family} alpha=1"].images == gan_point.images
    # image alpha 0.5: the mean of the two models' float outputs, rounded; its RMSE computed here.
    from sr_keras.loader import load_upscaler

    a, b = load_upscaler(psnr_path), load_upscaler(gan_path)
    expected = []
    for pair in pairs:
        blend = np.floor(np.clip((a(pair.lr).astype(np.float64) + b(pair.lr).astype(np.float64)) / 2, 0, 1) * 255 + 0.5)
        diff = (own_y(pair.hr) - own_y(blend.astype(np.uint8)))[4:-4, 4:-4]
        expected.append(np.sqrt(np.mean(diff**2)))
    assert by_label["image alpha=0.5"].means["rmse"] == pytest.approx(np.mean(expected), rel=1e-9)
    # bicubic's RMSE from its PSNR: the two axes are one measurement.
    for image in bicubic.images:
        assert image["rmse"] == pytest.approx(255.0 / 10 ** (image["psnr"] / 20), rel=1e-9)
    assert by_label["network alpha=0.5"].means["rmse"] != by_label["image alpha=0.5"].means["rmse"]


def test_program_writes_figure_table_and_json(tmp_path, generators):
    psnr_path, gan_path = generators
    hr_dir = tmp_path / "Set2"
    hr_dir.mkdir()
    for i in range(2):
        Image.fromarray(smooth_photo(10 + i, 192, 200)).save(hr_dir / f"img{i}.png")
    (hr_dir / "notes.png").write_bytes(b"not an image")  # skipped and listed, the run goes on
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, "-m", "sr_keras.programs.perception_distortion", f"--hr_dir={hr_dir}", f"--output_dir={out}",
         f"--models=bicubic,{psnr_path}", f"--psnr_model={psnr_path}", f"--gan_model={gan_path}", "--alphas=0,1", "--perceptual=niqe"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "skipping" in result.stderr and "notes.png" in result.stderr
    assert "[6/6]" in result.stderr
    document = json.loads((out / "pd_plane.json").read_text())
    assert [p["label"] for p in document["points"]][2:] == ["network alpha=0", "network alpha=1", "image alpha=0", "image alpha=1"]
    for point in document["points"]:
        assert set(point["means"]) == {"rmse", "niqe"} and len(point["images"]) == 2
        assert point["means"]["niqe"] == pytest.approx(np.mean([i["niqe"] for i in point["images"]]))
    assert "| bicubic | model |" in (out / "pd_plane.md").read_text()
    with Image.open(out / "pd_plane.png") as figure:
        assert figure.format == "PNG" and figure.size[0] > 400
    assert result.stdout.strip().endswith("pd_plane.png")
