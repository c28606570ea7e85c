"""The LiteRT (TFLite) runtime side: run a .tflite, list its ops, read its quantization.

`ai_edge_litert` is used (`tf.lite.Interpreter` is deprecated).
"""

from __future__ import annotations

import numpy as np


def _read_model(model: str | bytes) -> bytes:
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    with open(model, "rb") as handle:
        return handle.read()


def tflite_ops(model: str | bytes) -> list[str]:
    """Sorted distinct operator names of a .tflite (path or bytes), read from its flatbuffer.

    Builtins by their schema name (``CONV_2D``, ``PRELU``, ...); custom ops as ``CUSTOM:<code>``,
    which includes Flex (select TF) ops, ``CUSTOM:FlexConv2D`` for example.
    """
    from ai_edge_litert import schema_py_generated as schema

    names = {value: key for key, value in vars(schema.BuiltinOperator).items() if not key.startswith("_")}
    flatbuffer = schema.Model.GetRootAs(_read_model(model), 0)
    used = set()
    for index in range(flatbuffer.OperatorCodesLength()):
        code = flatbuffer.OperatorCodes(index)
        # Codes < 127 may live only in the deprecated int8 field (schema v3a compatibility).
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            custom = code.CustomCode()
            used.add(f"CUSTOM:{custom.decode() if custom else '?'}")
        else:
            used.add(names.get(builtin, f"BUILTIN_{builtin}"))
    return sorted(used)


def non_builtin_ops(model: str | bytes) -> list[str]:
    """The ops of `tflite_ops` that are not TFLite builtins (custom or Flex); [] is the goal."""
    return [name for name in tflite_ops(model) if name.startswith("CUSTOM") or "Flex" in name]


def tflite_interpreter(model: str | bytes, num_threads: int | None = None):
    """An `ai_edge_litert` Interpreter for a .tflite path or its bytes (tensors not yet allocated)."""
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model), num_threads=num_threads)
    return Interpreter(model_path=model, num_threads=num_threads)


def run_tflite(model, image: np.ndarray, num_threads: int | None = None) -> np.ndarray:
    """Run a .tflite (path, bytes or an Interpreter) on float32 [1, h, w, 3] in [0, 1].

    Returns float32 [1, rh, rw, 3].  A dynamic-size model is resized to the image
    (`resize_tensor_input` + `allocate_tensors`); a fixed-size model must get its own size.
    Quantized (int8/uint8) inputs and outputs are (de)quantized with the tensors' scale and zero
    point.
    """
    interpreter = model if hasattr(model, "get_input_details") else tflite_interpreter(model, num_threads)
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3:
        image = image[np.newaxis]
    input_detail = interpreter.get_input_details()[0]
    signature = [int(d) for d in input_detail.get("shape_signature", input_detail["shape"])]
    if list(input_detail["shape"]) != list(image.shape):
        fixed = [(want, got) for want, got in zip(signature, image.shape) if want != -1 and want != got]
        if fixed or len(signature) != image.ndim:
            raise ValueError(f"TFLite model takes input {signature} (-1 = any), got an image of shape {list(image.shape)}")
        interpreter.resize_tensor_input(input_detail["index"], list(image.shape), strict=True)
        interpreter.allocate_tensors()
        input_detail = interpreter.get_input_details()[0]
    else:
        interpreter.allocate_tensors()
    interpreter.set_tensor(input_detail["index"], _quantize(image, input_detail))
    interpreter.invoke()
    output_detail = interpreter.get_output_details()[0]
    return _dequantize(interpreter.get_tensor(output_detail["index"]), output_detail)


def int8_io_quantization(model) -> dict[str, tuple[float, int]]:
    """{"input": (scale, zero_point), "output": (scale, zero_point)} of a quantized .tflite.

    real value = (q - zero_point) * scale.  Float tensors give (0.0, 0).
    """
    interpreter = model if hasattr(model, "get_input_details") else tflite_interpreter(model)
    result = {}
    for key, details in (("input", interpreter.get_input_details()), ("output", interpreter.get_output_details())):
        scale, zero_point = details[0]["quantization"]
        result[key] = (float(scale), int(zero_point))
    return result


def _quantize(image: np.ndarray, detail: dict) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return image
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(image / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantize(output: np.ndarray, detail: dict) -> np.ndarray:
    if np.dtype(detail["dtype"]) == np.float32:
        return np.array(output, dtype=np.float32)
    scale, zero_point = detail["quantization"]
    return ((output.astype(np.float32) - zero_point) * scale).astype(np.float32)
