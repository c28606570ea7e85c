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


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle that names something other than numpy arrays and plain containers."""


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
