"""Which kernels train fastest on this machine: XLA:CPU or TensorFlow's oneDNN kernels.

sr-train's `jit_compile="auto"` (the default; not Keras' own "auto", which turns XLA off on every
CPU) resolves here.  Measured on 2-core machines (benchmarks/RESULTS.md, batch 16):

  CPU                           update                XLA       oneDNN (no XLA)   oneDNN, mixed_bfloat16
  AMD Zen 3, AVX2 (no AVX-512)  SRResNet MSE, 96 px    1.33 s    2.41 s            (XLA: 1.38 s)
                                ESRGAN, 128 px         24.6 s    33.0 s
  Intel Xeon, AVX-512 + AMX     SRResNet MSE, 96 px    1.38 s    0.88 s            0.52 s
                                ESRGAN, 128 px         19.7 s    16.4 s            4.9 s
  AMD Zen 5, AVX-512 (no AMX)   SRResNet MSE, 96 px    0.52 s    0.48 s
                                RRDBNet L1, 32->128    9.5 s     6.6 s

The likely reason: XLA:CPU's convolutions call Eigen kernels built into the wheel (TensorFlow's
start-up message lists AVX512F among the instructions its own kernels were not built for), while
oneDNN picks AVX-512, AVX512-BF16 and AMX at run time.  So XLA wins on AVX2-only CPUs and loses
where AVX-512 exists, on Intel and on AMD alike.  GPUs and TPUs always use XLA.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def _cpuinfo(field: str) -> str:
    """The value of `field` for the first CPU in /proc/cpuinfo ("" where there is none)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.split(":", 1)[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    return _cpuinfo("model name")


def cpu_family_and_model() -> tuple[str, str]:
    """/proc/cpuinfo's "cpu family" and "model" numbers, e.g. ("25", "1") for an AMD Zen 3 EPYC and
    ("6", "207") for the Xeon of benchmarks/RESULTS.md: where the model name alone says "AMD EPYC"."""
    return _cpuinfo("cpu family"), _cpuinfo("model")


def cpu_flags() -> frozenset[str]:
    """The instruction-set flags of the CPU (empty where /proc/cpuinfo is missing)."""
    return frozenset(_cpuinfo("flags").split())


def has_avx512(flags: frozenset[str] | None = None) -> bool:
    return "avx512f" in (cpu_flags() if flags is None else flags)


def has_bfloat16_matmul(flags: frozenset[str] | None = None) -> bool:
    """AMX-BF16 or AVX512-BF16: oneDNN then computes bfloat16 convolutions natively (mixed_bfloat16 pays off)."""
    flags = cpu_flags() if flags is None else flags
    return "amx_bf16" in flags or "avx512_bf16" in flags


def default_jit_compile(flags: frozenset[str] | None = None, accelerator: bool | None = None) -> bool:
    """XLA for the train step: on GPUs/TPUs and on CPUs without AVX-512; oneDNN on AVX-512 CPUs."""
    if accelerator is None:
        import tensorflow as tf

        accelerator = bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
    return accelerator or not has_avx512(flags)
