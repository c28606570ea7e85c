"""The restricted unpickler: numpy arrays and plain containers load, anything else is refused."""

import os
import pickle

import numpy as np
import pytest

from sr_keras.weights.numpy_pickle import UnsafePickleError, load_numpy_pickle


class _Payload:
    """Unpickling this would call os.system (never reached: the global is refused first)."""

    def __reduce__(self):
        return (os.system, ("echo unsafe > /dev/null",))


class _Plain:
    pass


def test_numpy_dicts_round_trip(tmp_path):
    data = {"AlexNet_0": {"Conv_0": {"kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2), "bias": np.ones(2, np.float32)}},
            "meta": [1, 2.5, "x", None, True, (3, 4)], "i8": np.arange(5, dtype=np.int64)}
    for protocol in (2, 3, pickle.HIGHEST_PROTOCOL):
        path = tmp_path / f"ok{protocol}.ckpt"
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        loaded = load_numpy_pickle(path)
        np.testing.assert_array_equal(loaded["AlexNet_0"]["Conv_0"]["kernel"], data["AlexNet_0"]["Conv_0"]["kernel"])
        assert loaded["meta"] == data["meta"] and loaded["i8"].dtype == np.int64


@pytest.mark.parametrize("payload", [_Payload(), _Plain(), {"weights": np.ones(2), "hook": _Payload()}, np.array([_Plain()], dtype=object)])
def test_arbitrary_objects_are_refused(tmp_path, payload):
    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps(payload, protocol=3))
    with pytest.raises(UnsafePickleError, match="evil.ckpt"):
        load_numpy_pickle(path)


def test_not_a_pickle(tmp_path):
    path = tmp_path / "junk.ckpt"
    path.write_bytes(b"PK\x03\x04 not a pickle")
    with pytest.raises(pickle.UnpicklingError, match="junk.ckpt"):
        load_numpy_pickle(path)
