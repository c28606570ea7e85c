"""Rebuild an sr_keras generator from a bare Keras `.weights.h5` file.

A `.weights.h5` written by `model.save_weights` holds no architecture: Keras 3 stores one group
per layer, named after the layer *class* in model order (`layers/conv2d`, `layers/conv2d_1`, ...,
`layers/scaled_residual_7`, `layers/p_re_lu`), with the variables under `vars/0`, `vars/1`.
The generator is recognised from those groups (RRDBNet: scaled_residual groups, with one
up_sampling2d group per x2 upsampling; SRResNet: p_re_lu and pixel_shuffle groups) and its
hyper-parameters from the kernel shapes (`sr_keras.weights.shapes`).

The model is then built and `load_weights` checks every variable's shape.  Files from other
architectures are refused; save those with `model.save("x.keras")`, which keeps the architecture.
"""

from __future__ import annotations

import os
import re

from sr_keras.weights import shapes


def _groups(path: str) -> dict[str, list]:
    """{layer class group prefix: [group names in model order]} and the conv kernel shapes."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: not a readable Keras .weights.h5 file ({error})") from None
    with handle:
        if "layers" not in handle:
            raise ValueError(f"{path}: not a Keras 3 .weights.h5 file (no 'layers' group)")
        names = list(handle["layers"].keys())

        def order(name: str) -> tuple[str, int]:
            match = re.fullmatch(r"(.*?)(?:_(\d+))?", name)
            return match[1], int(match[2] or 0)

        grouped: dict[str, list] = {}
        for name in sorted(names, key=order):
            grouped.setdefault(order(name)[0], []).append(name)
        kernels = []
        for name in grouped.get("conv2d", []):
            var = handle["layers"][name].get("vars/0")
            if var is None:
                raise ValueError(f"{path}: layer group {name} has no kernel")
            kernels.append(tuple(int(d) for d in var.shape))
    grouped["__kernels__"] = kernels
    return grouped


def architecture_from_weights(path: str | os.PathLike) -> tuple[str, dict[str, int]]:
    """("RRDBNet" or "SRResNet", constructor arguments) inferred from a .weights.h5 file."""
    path = os.fspath(path)
    groups = _groups(path)
    kernels = groups["__kernels__"]
    if groups.get("scaled_residual"):
        return "RRDBNet", shapes.rrdbnet_hyperparameters(kernels, len(groups.get("up_sampling2d", [])), path)
    if groups.get("p_re_lu") and groups.get("pixel_shuffle"):
        return "SRResNet", shapes.srresnet_hyperparameters(kernels, path)
    raise ValueError(
        f"{path}: cannot tell the architecture from this .weights.h5 (neither an RRDBNet nor an SRResNet); "
        "save the whole model with model.save('model.keras') instead"
    )


def model_from_weights(path: str | os.PathLike, name: str | None = None):
    """Build the generator described by a .weights.h5 file (see the module docstring) and load it."""
    from sr_keras import archs

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such weights file")
    kind, kwargs = architecture_from_weights(path)
    model = getattr(archs, kind)(**kwargs, **({"name": name} if name else {}))
    try:
        model.load_weights(path)
    except ValueError as error:
        raise ValueError(f"{path}: weights do not fit {kind}({kwargs}): {str(error).strip().splitlines()[0]}") from None
    return model
