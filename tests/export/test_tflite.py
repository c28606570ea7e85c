"""TFLite exports of both architectures: float32 equals Keras, quantized variants stay close, every
variant uses builtin ops only, the dynamic-size model runs at several sizes."""

import numpy as np
import pytest
import tensorflow as tf

from sr_keras import export
from sr_keras.data import sources
from tests.export.conftest import ARCHS, keras_float

# Measured on the tiny models (max abs diff on [0, 1], photo crops): float32 < 2e-6, float16
# <= 2.2e-4, dynamic_int8 <= 1.1e-2, int8 <= 2.8e-2.  The bounds leave room (calibration is
# random) without hiding a broken conversion (a wrong op or a NaN gives ~0.1 to 1).
BOUNDS = {"float32": 1e-4, "float16": 2e-3, "dynamic_int8": 3e-2, "int8": 6e-2}
CORE_OPS = {"srresnet": {"CONV_2D", "PRELU", "DEPTH_TO_SPACE", "ADD"}, "rrdbnet": {"CONV_2D", "CONCATENATION", "LEAKY_RELU", "ADD"}}


@pytest.fixture(scope="session")
def photos():
    """Embedded photos, shrunk 4x (the tests' calibration data and inputs)."""
    return [item.image[::4, ::4] for item in sources.load_source("embedded")]


@pytest.fixture(scope="session")
def tflite(models, photos):
    """convert(arch, quantization, input_size) -> flatbuffer bytes, each converted once."""
    cache = {}

    def convert(arch, quantization, input_size=None):
        key = (arch, quantization, input_size)
        if key not in cache:
            cache[key] = export.convert_tflite(
                models[arch],
                quantization,
                input_size,
                representative_images=photos,
                num_calibration_samples=16,
                calibration_size=24,
            )
        return cache[key]

    return convert


def photo_crop(photos, height, width, index=0):
    image = photos[index % len(photos)]
    return (image[None, 10 : 10 + height, 20 : 20 + width].astype(np.float32) / 255.0).copy()


@pytest.mark.parametrize("arch", ARCHS)
def test_float32_equals_keras_fixed_and_dynamic_sizes(arch, models, tflite, photos):
    model = models[arch]
    fixed = tflite(arch, "float32", (12, 10))
    image = photo_crop(photos, 12, 10)
    difference = np.abs(export.run_tflite(fixed, image) - keras_float(model, image)).max()
    print(f"{arch} float32 12x10: max abs diff {difference:.2e}")
    assert difference < BOUNDS["float32"]

    dynamic = tflite(arch, "float32")
    interpreter = export.tflite_interpreter(dynamic)
    detail = interpreter.get_input_details()[0]
    assert list(detail["shape_signature"]) == [1, -1, -1, 3]
    # The same interpreter resized twice (and a random, non-photo input for good measure).
    for image in (photo_crop(photos, 12, 10, 1), np.random.default_rng(0).random((1, 7, 15, 3), dtype=np.float32)):
        output = export.run_tflite(interpreter, image)
        assert output.shape == (1, 4 * image.shape[1], 4 * image.shape[2], 3)
        difference = np.abs(output - keras_float(model, image)).max()
        print(f"{arch} float32 dynamic at {image.shape[1]}x{image.shape[2]}: max abs diff {difference:.2e}")
        assert difference < BOUNDS["float32"]
    with pytest.raises(ValueError, match="takes input"):
        export.run_tflite(fixed, image)  # a fixed-size model refuses other sizes, clearly


@pytest.mark.parametrize("quantization", ["float16", "dynamic_int8", "int8"])
@pytest.mark.parametrize("arch", ARCHS)
def test_quantized_variants_stay_close(arch, quantization, models, tflite, photos):
    content = tflite(arch, quantization)
    image = photo_crop(photos, 16, 12, 2)
    output = export.run_tflite(content, image)
    assert output.shape == (1, 64, 48, 3) and output.dtype == np.float32
    difference = np.abs(output - keras_float(models[arch], image)).max()
    print(f"{arch} {quantization} dynamic 16x12: max abs diff {difference:.2e}, {len(content)} bytes")
    assert np.isfinite(output).all() and difference < BOUNDS[quantization]


def test_full_int8_has_integer_input_and_output(tflite, photos):
    interpreter = export.tflite_interpreter(tflite("srresnet", "int8", (16, 12)))
    inputs, outputs = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert inputs["dtype"] == np.int8 and outputs["dtype"] == np.int8
    # [0, 1] maps onto the int8 range: 1/255 steps, so uint8 pixels are exact.
    assert inputs["quantization"][0] == pytest.approx(1 / 255, rel=0.02)
    output = export.run_tflite(interpreter, photo_crop(photos, 16, 12))
    assert output.shape == (1, 64, 48, 3) and 0 <= output.min() and output.max() <= 1


@pytest.mark.parametrize("quantization", export.TFLITE_QUANTIZATIONS)
@pytest.mark.parametrize("arch", ARCHS)
def test_only_builtin_ops(arch, quantization, tflite):
    ops = export.tflite_ops(tflite(arch, quantization))
    print(f"{arch} {quantization}: {', '.join(ops)}")
    assert export.non_builtin_ops(tflite(arch, quantization)) == []
    assert not [op for op in ops if "FLEX" in op.upper() or op.startswith("CUSTOM")]
    assert CORE_OPS[arch] <= set(ops)


def test_op_lister_sees_flex_and_custom_ops():
    """The detector above is not vacuous: Flex and custom ops are reported as such."""
    spec = [tf.TensorSpec([2, 2], tf.float32)]
    flex = tf.lite.TFLiteConverter.from_concrete_functions([tf.function(tf.linalg.inv, input_signature=spec).get_concrete_function()])
    flex.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    custom = tf.lite.TFLiteConverter.from_concrete_functions(
        [tf.function(lambda x: tf.math.igamma(x, x), input_signature=spec, autograph=False).get_concrete_function()]
    )
    custom.allow_custom_ops = True
    assert export.tflite_ops(flex.convert()) == ["CUSTOM:FlexMatrixInverse"]
    assert export.non_builtin_ops(custom.convert()) == ["CUSTOM:Igamma"]


def test_file_export_and_bad_arguments(models, tmp_path):
    path = export.export_tflite(models["srresnet"], str(tmp_path / "sub" / "m.tflite"), input_size=(8, 8))
    assert export.tflite_ops(path) == export.tflite_ops(open(path, "rb").read())
    assert export.tflite_file_name("sr", "int8", (8, 6)) == "sr_int8_8x6.tflite"
    assert export.tflite_file_name("sr", "float16", None) == "sr_float16_dynamic.tflite"
    with pytest.raises(ValueError, match="quantization"):
        export.convert_tflite(models["srresnet"], "int4")
    with pytest.raises(ValueError, match="at least 64x64"):
        export.representative_crops([np.zeros((10, 80, 3), np.uint8)], (64, 64))


def test_a_model_needing_flex_ops_fails_clearly():
    import keras

    class Inverse(keras.layers.Layer):  # MatrixInverse has no TFLite builtin
        def call(self, x):
            return tf.nn.depth_to_space(tf.concat([x] * 16, -1), 4) + tf.reduce_sum(tf.linalg.inv(x[:, :2, :2, 0]))

        def compute_output_shape(self, shape):
            return (shape[0], None, None, 3)

    inputs = keras.Input((None, None, 3))
    with pytest.raises(RuntimeError, match=r"only builtin ops are allowed: .*tf\.MatrixInverse"):
        export.convert_tflite(keras.Model(inputs, Inverse()(inputs)), "float32", (4, 4))
