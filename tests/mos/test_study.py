"""sr-mos create: stimuli, calibration set, per-rater lists, blinding; nearest neighbour by hand."""

import collections
import json
import os
import re

import numpy as np
import pytest
from PIL import Image

from sr_keras.mos import database, study
from tests.mos.conftest import make_study, write_images


def test_nearest_upscale_by_hand():
    lr = np.array([[[1, 2, 3], [4, 5, 6]]], dtype=np.uint8)  # 1 x 2 pixels
    up = study.nearest_upscale(lr, 2)
    assert up.shape == (2, 4, 3)
    np.testing.assert_array_equal(up[:, :2], [[[1, 2, 3]] * 2] * 2)
    np.testing.assert_array_equal(up[:, 2:], [[[4, 5, 6]] * 2] * 2)


def test_study_contents_and_rater_lists(template_study):
    connection = database.connect(template_study)
    stimuli = database.stimuli(connection)
    test = [s for s in stimuli if s.phase == "test"]
    calibration = [s for s in stimuli if s.phase == "calibration"]
    # 4 images x (nearest, bicubic, HR); calibration: NN (anchor 1) and HR (anchor 5) of 1 other image.
    assert collections.Counter(s.method for s in test) == {"nearest": 4, "bicubic": 4, "HR": 4}
    assert sorted((s.method, s.anchor) for s in calibration) == [("HR", 5), ("nearest", 1)]
    assert {s.image for s in calibration}.isdisjoint({s.image_set + "/" + s.image for s in test})
    # Images at full size (64 x 48, already multiples of 4), named by their opaque id only.
    for s in stimuli:
        assert s.file == f"images/{s.id}.png" and re.fullmatch(r"[0-9a-f]{16}", s.id)
        assert Image.open(os.path.join(template_study, s.file)).size == (64, 48) == (s.width, s.height)
    # The HR stimulus is the source file, pixel for pixel; nearest is the NN upscale of its bicubic LR.
    hr = {s.image: s for s in test if s.method == "HR"}
    nearest = {s.image: s for s in test if s.method == "nearest"}
    for name, s in hr.items():
        source = np.asarray(Image.open(os.path.join(os.path.dirname(template_study), "hr", name + ".png")))
        np.testing.assert_array_equal(np.asarray(Image.open(os.path.join(template_study, s.file))), source)
        nn = np.asarray(Image.open(os.path.join(template_study, nearest[name].file)))
        assert (nn[0::4, 0::4] == nn[3::4, 3::4]).all()  # 4 x 4 blocks
    # Every rater: calibration first, then every test stimulus once plus retest duplicates
    # (10% of 12 -> 1), each duplicate in the second half after its original.
    orders = []
    for rater in database.raters(connection):
        rows = connection.execute(
            "SELECT s.id, s.phase, p.repeat FROM presentations p JOIN stimuli s ON s.id = p.stimulus_id "
            "WHERE p.rater_id = ? ORDER BY p.position", (rater["id"],)).fetchall()
        phases = [r["phase"] for r in rows]
        assert phases == ["calibration"] * 2 + ["test"] * 13
        firsts = [r["id"] for r in rows if r["phase"] == "test" and not r["repeat"]]
        assert sorted(firsts) == sorted(s.id for s in test)
        repeats = [i for i, r in enumerate(rows) if r["repeat"]]
        assert len(repeats) == 1
        original = [i for i, r in enumerate(rows) if r["id"] == rows[repeats[0]]["id"] and not r["repeat"]][0]
        assert original < 2 + 6 <= repeats[0]
        orders.append(firsts)
    assert len({tuple(o) for o in orders}) == 3  # randomized per rater
    config = json.load(open(os.path.join(template_study, "study.json")))
    assert config["methods"] == ["nearest", "bicubic", "HR"]


def test_calibration_images_must_not_be_test_images(tmp_path):
    hr = write_images(tmp_path / "hr", 3, seed=1)
    with pytest.raises(ValueError, match="also test images"):
        study.create_study(str(tmp_path / "s"), [("tiny", str(hr))], ["nearest"], calibration_dir=str(hr), raters=1)


def test_calibration_held_out_of_the_test_sets(tmp_path):
    hr = write_images(tmp_path / "hr", 3, seed=1)
    directory = str(tmp_path / "s")
    config = study.create_study(directory, [("tiny", str(hr))], ["nearest"], calibration_count=1, raters=1)
    connection = database.connect(directory)
    test_images = {s.image for s in database.stimuli(connection, "test")}
    assert len(config["calibration"]) == 1 and len(test_images) == 2
    assert config["calibration"][0].split("/")[1] not in test_images
    with pytest.raises(ValueError, match="already exists"):
        study.create_study(directory, [("tiny", str(hr))], ["nearest"], calibration_count=1, raters=1)


def test_models_go_through_the_project_loader(tmp_path):
    """A tiny untrained SRResNet saved as .keras is a method like any other (its name: the file name)."""
    from sr_keras.archs import SRResNet
    from sr_keras.inference import load_upscaler

    model = SRResNet(num_blocks=1, num_features=8, scale=4)
    model.save(tmp_path / "tiny.keras")
    directory = make_study(str(tmp_path), raters=1, test_images=2, methods=("bicubic", str(tmp_path / "tiny.keras")))
    connection = database.connect(directory)
    stimuli = [s for s in database.stimuli(connection, "test") if s.method == "tiny.keras"]
    assert len(stimuli) == 2
    lr = np.asarray(Image.open(tmp_path / "hr" / f"{stimuli[0].image}.png"))
    from sr_keras import metrics
    from sr_keras.data.pipeline import make_lr

    expected = metrics.to_uint8(load_upscaler(str(tmp_path / "tiny.keras"))(make_lr(lr, 4)))
    np.testing.assert_array_equal(np.asarray(Image.open(os.path.join(directory, stimuli[0].file))), expected)


def test_invite_adds_raters_and_keeps_tokens(study_copy):
    tokens, owner = study.invite(study_copy, 2)
    again, owner_again = study.invite(study_copy, 5)
    assert again[:2] == tokens and len(set(again)) == 5 and owner == owner_again
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", t) for t in again + [owner])
