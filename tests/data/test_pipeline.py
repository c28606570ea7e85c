"""The training stream: shapes, value ranges, MATLAB-bicubic LR, determinism, exact resume."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import metrics
from sr_keras.data import pipeline, sources
from sr_keras.ops.imresize import imresize


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(0)
    return [
        sources.NamedImage("a", rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)),
        sources.NamedImage("b", rng.integers(0, 256, (33, 64, 3), dtype=np.uint8)),
        sources.NamedImage("c", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)),
    ]


def take(dataset, n):
    return [(lr.numpy(), hr.numpy()) for lr, hr in dataset.take(n)]


def test_shapes_ranges_and_lr_is_matlab_bicubic(photos):
    batches = take(pipeline.training_dataset(photos, crop_size=32, scale=4, batch_size=4, seed=3), 3)
    for lr, hr in batches:
        assert lr.shape == (4, 8, 8, 3) and hr.shape == (4, 32, 32, 3)
        assert lr.dtype == np.float32 and 0.0 <= hr.min() and hr.max() <= 1.0
        np.testing.assert_array_equal(np.round(hr * 255), hr * 255)  # HR crops are exact 8-bit values
        for i in range(4):
            expected = metrics.to_uint8(imresize(hr[i], 0.25)) / 255.0
            np.testing.assert_allclose(lr[i], expected, atol=1e-6)


def test_crops_come_from_the_images(photos):
    (lr, hr), = take(pipeline.training_dataset(photos, 32, 4, 8, seed=1, augment=False), 1)
    for crop in (hr * 255).round().astype(np.uint8):
        found = any(
            np.array_equal(crop, p.image[y : y + 32, x : x + 32])
            for p in photos
            for y in range(p.image.shape[0] - 31)
            for x in range(p.image.shape[1] - 31)
        )
        assert found


def test_each_epoch_visits_every_image():
    flat = [sources.NamedImage(str(v), np.full((40, 40 + v, 3), v, np.uint8)) for v in (10, 20, 30)]
    batches = take(pipeline.training_dataset(flat, 32, 4, 3, seed=5), 4)
    for lr, hr in batches:  # each batch of 3 is one epoch: every image exactly once
        assert sorted(int(round(c.mean() * 255)) for c in hr) == [10, 20, 30]


def test_deterministic_for_a_seed_and_different_across_seeds(photos):
    a = take(pipeline.training_dataset(photos, 32, 4, 4, seed=7), 4)
    b = take(pipeline.training_dataset(photos, 32, 4, 4, seed=7), 4)
    c = take(pipeline.training_dataset(photos, 32, 4, 4, seed=8), 4)
    for (lr_a, hr_a), (lr_b, hr_b) in zip(a, b):
        np.testing.assert_array_equal(hr_a, hr_b)
        np.testing.assert_array_equal(lr_a, lr_b)
    assert not np.array_equal(a[0][1], c[0][1])


def test_resume_continues_the_same_stream(photos):
    full = take(pipeline.training_dataset(photos, 32, 4, 4, seed=2), 6)
    resumed = take(pipeline.training_dataset(photos, 32, 4, 4, seed=2, start_batch=4), 2)
    for (lr_f, hr_f), (lr_r, hr_r) in zip(full[4:], resumed):
        np.testing.assert_array_equal(hr_f, hr_r)


def test_augmentation_uses_all_eight_dihedral_variants():
    flat = np.arange(16 * 16 * 3, dtype=np.int64).reshape(16, 16, 3) % 251
    image = sources.NamedImage("one", flat.astype(np.uint8))
    (lr, hr), = take(pipeline.training_dataset([image], 16, 4, 64, seed=0), 1)
    variants = {(hr[i] * 255).round().astype(np.uint8).tobytes() for i in range(64)}
    base = flat.astype(np.uint8)
    dihedral = {np.rot90(v, k).tobytes() for v in (base, base[:, ::-1]) for k in range(4)}
    assert variants == dihedral


def test_small_images_are_skipped_with_a_warning(photos, caplog):
    tiny = sources.NamedImage("tiny.png", np.zeros((20, 80, 3), np.uint8))
    with caplog.at_level("WARNING"):
        dataset = pipeline.training_dataset(photos + [tiny], 32, 4, 2, seed=0)
    assert any("tiny.png" in r.getMessage() and "smaller" in r.getMessage() for r in caplog.records)
    assert take(dataset, 1)[0][1].shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="no images"):
        pipeline.training_dataset([tiny], 32, 4, 2)


def test_evaluation_pairs_crop_to_multiple_and_make_lr():
    rng = np.random.default_rng(1)
    image = sources.NamedImage("x", rng.integers(0, 256, (37, 42, 3), dtype=np.uint8))
    (pair,) = pipeline.evaluation_pairs([image], 4)
    assert pair.hr.shape == (36, 40, 3) and pair.lr.shape == (9, 10, 3)
    np.testing.assert_array_equal(pair.lr, metrics.to_uint8(imresize(pair.hr / 255.0, 0.25)))
    (lr, hr), = list(pipeline.validation_dataset([pair]).as_numpy_iterator())
    assert lr.shape == (1, 9, 10, 3) and hr.shape == (1, 36, 40, 3)


def test_tfds_source_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=3):
        images = sources.load_source("tfds:div2k/bicubic_x4:train")
    assert len(images) == 3
    assert all(item.image.dtype == np.uint8 and item.image.shape[-1] == 3 for item in images)


def test_tfds_missing_dataset_is_a_clear_error(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(RuntimeError, match="tfds build"):
        sources.load_source("tfds:no_such_dataset_xyz:train", data_dir=str(tmp_path))
