"""Multi-worker input shards: the workers' slices of a global batch are exactly the one-process batch."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras.data import pipeline, sources


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(1)
    return [sources.NamedImage(name, rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)) for name in "abc"]


def test_example_indices_by_hand():
    take = lambda ds, n: [int(k) for k in ds.take(n)]  # noqa: E731
    # Global batch 6 over 3 shards: shard 1 takes examples 2, 3 of batch 0, then 8, 9 of batch 1, ...
    assert take(pipeline.sharded_example_indices(6, 0, 1, 3), 6) == [2, 3, 8, 9, 14, 15]
    assert take(pipeline.sharded_example_indices(6, 5, 2, 3), 4) == [34, 35, 40, 41]  # resumed at batch 5
    assert take(pipeline.sharded_example_indices(4), 5) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="batch_size 4 must split evenly over 3 shards"):
        pipeline.sharded_example_indices(4, 0, 0, 3)


@pytest.mark.parametrize("num_shards,start_batch", [(2, 0), (4, 3)])
def test_shards_concatenate_to_the_unsharded_batches(photos, num_shards, start_batch):
    whole = list(pipeline.training_dataset(photos, 16, 4, 8, seed=11, start_batch=start_batch).take(3))
    shards = [
        list(pipeline.training_dataset(photos, 16, 4, 8, seed=11, start_batch=start_batch, shard_index=i, num_shards=num_shards).take(3))
        for i in range(num_shards)
    ]
    for step, (lr, hr) in enumerate(whole):
        assert shards[0][step][1].shape[0] == 8 // num_shards
        np.testing.assert_array_equal(tf.concat([s[step][0] for s in shards], 0), lr)
        np.testing.assert_array_equal(tf.concat([s[step][1] for s in shards], 0), hr)
