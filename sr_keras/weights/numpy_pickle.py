"""Reading pickled numpy weights without running arbitrary code.

`pickle.load` executes whatever callables a file names, so a weights file from a package could
run any code on load.  `load_numpy_pickle` accepts only what a dict of numpy arrays needs:
plain containers (dict, list, tuple, str, numbers, None, bool) built by the pickle opcodes
themselves, and numpy arrays, i.e. the three globals numpy's own pickling uses
(`numpy.core.multiarray._reconstruct` with `numpy.ndarray`, `numpy.dtype`, protocol 5's
`numpy.core.numeric._frombuffer`, and protocol 2's `_codecs.encode` of latin-1 bytes; numpy >= 2
writes `numpy._core...`), each wrapped to check its arguments.  Any other global (os.system, builtins.eval, a class of some package, ...) is
refused with an `UnsafePickleError` before it is called, and object arrays are refused too
(their elements would be arbitrary objects).
"""

from __future__ import annotations

import os
import pickle

import numpy as np


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle that names something other than numpy arrays and plain containers (a ValueError: programs print one line)."""


def _reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct as reconstruct  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct as reconstruct
    return reconstruct


def _checked_reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise UnsafePickleError(f"array subtype {subtype!r}: only numpy.ndarray is accepted")
    return _reconstruct()(subtype, shape, dtype)


def _checked_dtype(*args, **kwargs):
    dtype = np.dtype(*args, **kwargs)
    if dtype.hasobject:
        raise UnsafePickleError("object arrays (dtype 'O') are refused: their elements could be any Python object")
    return dtype


def _checked_frombuffer(buffer, dtype, shape, order):
    """Protocol 5's array constructor (numpy._core.numeric._frombuffer), dtype already checked."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError(f"array dtype {dtype!r} refused")
    array = np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order)
    return array.copy()


def _latin1_bytes(text, encoding="latin1"):
    """Protocol 2 writes bytes as _codecs.encode(str, 'latin1'): only that is accepted."""
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError("_codecs.encode is accepted only for latin-1 bytes")
    return text.encode("latin1")


_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _checked_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _checked_reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _checked_frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _checked_frombuffer,
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _checked_dtype,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refusing to load {module}.{name}: only numpy arrays and plain containers are accepted") from None

    def persistent_load(self, pid):
        raise UnsafePickleError("refusing a persistent id: only numpy arrays and plain containers are accepted")


def load_numpy_pickle(path: str | os.PathLike):
    """The object in a pickle file made only of numpy arrays and plain containers.

    Raises UnsafePickleError (naming the file and the refused global) for anything else.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        try:
            return _NumpyOnlyUnpickler(file).load()
        except UnsafePickleError as error:
            raise UnsafePickleError(f"{path}: {error}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
            raise pickle.UnpicklingError(f"{path}: not a pickle of numpy arrays ({error})") from None


# --- PyTorch's legacy (pre-1.6, non-zip) torch.save format, tensors only --------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                   "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    def __init__(self, dtype, size):
        self.dtype, self.size, self.data = dtype, size, None


def _rebuild_tensor(storage, offset, size, stride, *unused):
    return ("tensor", storage, int(offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


class _LegacyTorchUnpickler(_NumpyOnlyUnpickler):
    """torch.save's legacy layout: only float/int storages, tensors and (ordered) dicts are accepted."""

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        return super().find_class(module, name)

    def persistent_load(self, pid):
        # ("storage", storage type, key, location, size[, view metadata]); views of storages are not accepted
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage" and isinstance(pid[1], _StorageType)
                and (len(pid) == 5 or pid[5] is None)):
            raise UnsafePickleError(f"unexpected persistent id {pid!r:.80}")
        key = str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(pid[1].dtype, int(pid[4]))
        return self.storages[key]


def load_legacy_torch_tensors(path: str | os.PathLike) -> dict:
    """{name: numpy array} of a dict of tensors saved by torch.save in the legacy (non-zip) format, without PyTorch.

    Only tensors of plain dtypes in (ordered) dicts are accepted; anything else raises UnsafePickleError.
    """
    path = os.fspath(path)
    storages: dict = {}
    with open(path, "rb") as file:
        try:
            if _NumpyOnlyUnpickler(file).load() != _LEGACY_MAGIC:
                raise pickle.UnpicklingError("not a legacy torch.save file (magic number)")
            _NumpyOnlyUnpickler(file).load()  # protocol version
            _NumpyOnlyUnpickler(file).load()  # sys info: a dict of plain values
            result = _LegacyTorchUnpickler(file, storages).load()
            keys = _NumpyOnlyUnpickler(file).load()
            for key in keys:
                storage = storages[str(key)]
                count = int(np.frombuffer(file.read(8), "<i8")[0])
                storage.data = np.frombuffer(file.read(count * storage.dtype.itemsize), storage.dtype)
        except UnsafePickleError as error:
            raise UnsafePickleError(f"{path}: {error}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError) as error:
            raise pickle.UnpicklingError(f"{path}: not a legacy torch.save file of tensors ({error})") from None
    if not isinstance(result, dict):
        raise UnsafePickleError(f"{path}: expected a dict of tensors, got {type(result).__name__}")
    arrays = {}
    for name, value in result.items():
        if not (isinstance(value, tuple) and value and value[0] == "tensor"):
            raise UnsafePickleError(f"{path}: {name!r} is not a tensor")
        _, storage, offset, size, stride = value
        itemsize = storage.dtype.itemsize
        arrays[name] = np.lib.stride_tricks.as_strided(
            storage.data[offset:], shape=size, strides=tuple(s * itemsize for s in stride)
        ).copy()
    return arrays
