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


def test_shapes_and_ranges(photos):
    batches = take(pipeline.training_dataset(photos, crop_size=32, scale=4, batch_size=4, seed=3), 3)
    for lr, hr in batches:
        assert lr.shape == (4, 8, 8, 3) and hr.shape == (4, 32, 32, 3)
        assert lr.dtype == np.float32 and 0.0 <= hr.min() and hr.max() <= 1.0
        np.testing.assert_array_equal(np.round(hr * 255), hr * 255)  # HR crops are exact 8-bit values
        np.testing.assert_array_equal(np.round(lr * 255), lr * 255)  # so are LR crops (quantize_lr)


def whole_image_lr_reference(image: np.ndarray) -> np.ndarray:
    """The papers' LR, made independently: numpy MATLAB bicubic x1/4 of the whole HR photo
    (cropped to a multiple of 4 at the bottom/right), rounded to 8 bits."""
    hr = image[: image.shape[0] // 4 * 4, : image.shape[1] // 4 * 4]
    return metrics.to_uint8(imresize(hr / 255.0, 0.25))


def locate_aligned_pair(photos, lr8, hr8):
    """(photo, y, x) with hr8 == HR[4y:4y+c, 4x:4x+c] and lr8 == whole-image LR[y:y+c/4, x:x+c/4]."""
    size = lr8.shape[0]
    for photo in photos:
        reference = whole_image_lr_reference(photo.image)
        for y in range(reference.shape[0] - size + 1):
            for x in range(reference.shape[1] - size + 1):
                if np.array_equal(photo.image[4 * y : 4 * y + 4 * size, 4 * x : 4 * x + 4 * size], hr8):
                    if np.array_equal(reference[y : y + size, x : x + size], lr8):
                        return photo, y, x
    return None


def test_every_pair_is_an_aligned_crop_of_the_whole_image_lr(photos):
    """Each training pair = (whole-image MATLAB LR crop at (y, x), HR crop at (4y, 4x)).

    The code before this test made the LR from each HR crop, so the outer 2 LR pixels per side
    (30.6% of a 24x24 patch, 23.4% of a 32x32) were computed from mirrored pixels outside the
    photo.  Measured on that code (commit 0b36e6a) against the whole-image LR by
    experiments/results/lr_patches/measure_lr_patches.py (8-bit LR, augment off; JSON beside it):
      24 photos of ../shared/data/train_hr (~1280x800), 256 patches per size:
        24x24 LR: 7.8% of the pixels differed (25.5% of the ring's), max 19 grey levels,
                  mean 0.061 over all values (1.42 over the differing ones);
        32x32 LR: 5.8% of the pixels differed (24.8% of the ring's), max 15, mean 0.044 (1.37);
      the 5 embedded photos, 128 patches per size:
        24x24 LR: 11.4% of the pixels, max 13, mean 0.104;  32x32 LR: 8.6%, max 24, mean 0.084.
    Inside the ring only float32 rounding flips differed (about 1e-5 of the values, by 1 grey
    level); the whole-image LR is now made in float64 and rounds exactly as the numpy reference.
    """
    for crop in (16, 24):
        (lr, hr), = take(pipeline.training_dataset(photos, crop, 4, 12, seed=11, augment=False), 1)
        for lr_i, hr_i in zip(lr, hr):
            lr8, hr8 = (lr_i * 255).round().astype(np.uint8), (hr_i * 255).round().astype(np.uint8)
            assert locate_aligned_pair(photos, lr8, hr8) is not None


def test_unquantized_lr_is_the_whole_image_lr_in_float(photos):
    (lr, hr), = take(pipeline.training_dataset(photos, 16, 4, 6, seed=4, augment=False, quantize_lr=False), 1)
    for lr_i, hr_i in zip(lr, hr):
        hr8 = (hr_i * 255).round().astype(np.uint8)
        matches = []
        for photo in photos:
            image = photo.image[: photo.image.shape[0] // 4 * 4, : photo.image.shape[1] // 4 * 4]
            whole = np.clip(imresize(image / 255.0, 0.25), 0.0, 1.0)
            for y in range(whole.shape[0] - 3):
                for x in range(whole.shape[1] - 3):
                    if np.array_equal(image[4 * y : 4 * y + 16, 4 * x : 4 * x + 16], hr8):
                        matches.append(np.abs(whole[y : y + 4, x : x + 4] - lr_i).max())
        assert matches and min(matches) < 1e-6


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


def dihedral_variants(image: np.ndarray) -> list[np.ndarray]:
    """The 8 flips/rotations of an [H, W, C] image, written with numpy."""
    return [np.rot90(v, k) for v in (image, image[:, ::-1]) for k in range(4)]


def test_augment_false_gives_plain_aligned_crops():
    flat = (np.arange(16 * 20 * 3, dtype=np.int64).reshape(16, 20, 3) * 7 % 251).astype(np.uint8)
    image = sources.NamedImage("one", flat)
    lr_whole = whole_image_lr_reference(flat)
    (lr, hr), = take(pipeline.training_dataset([image], 8, 4, 32, seed=0, augment=False), 1)
    # The only crops of a 16x20 photo at 4x4-aligned positions: (y, x) in {0..2} x {0..3} on the LR grid.
    plain = {(flat[4 * y : 4 * y + 8, 4 * x : 4 * x + 8].tobytes(), lr_whole[y : y + 2, x : x + 2].tobytes()) for y in range(3) for x in range(4)}
    pairs = {((h * 255).round().astype(np.uint8).tobytes(), (l * 255).round().astype(np.uint8).tobytes()) for l, h in zip(lr, hr)}
    assert pairs <= plain and len(pairs) > 4


def test_augment_true_gives_the_8_dihedral_variants_of_aligned_pairs():
    flat = (np.arange(16 * 16 * 3, dtype=np.int64).reshape(16, 16, 3) % 251).astype(np.uint8)
    image = sources.NamedImage("one", flat)
    lr_whole = whole_image_lr_reference(flat)
    (lr, hr), = take(pipeline.training_dataset([image], 16, 4, 64, seed=0, augment=True), 1)
    # One crop position (the whole photo): every pair must be one of its 8 variants, the same for LR and HR.
    expected = {(h.tobytes(), l.tobytes()) for h, l in zip(dihedral_variants(flat), dihedral_variants(lr_whole))}
    pairs = {((h * 255).round().astype(np.uint8).tobytes(), (l * 255).round().astype(np.uint8).tobytes()) for l, h in zip(lr, hr)}
    assert pairs == expected  # all 8 occur in 64 draws, and nothing else


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
