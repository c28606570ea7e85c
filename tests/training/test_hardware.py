"""jit_compile="auto": XLA where its kernels are the faster ones (sr_keras/training/hardware.py)."""

import pytest

from sr_keras.training import hardware
from sr_keras.training.config import TrainConfig

ZEN3 = frozenset("fpu sse2 avx avx2 fma f16c".split())  # AMD Zen 3: AVX2, no AVX-512
SAPPHIRE_RAPIDS = frozenset("avx2 fma avx512f avx512bw avx512_bf16 amx_bf16 amx_tile amx_int8".split())
SKYLAKE_X = frozenset("avx2 fma avx512f avx512bw avx512dq".split())  # AVX-512 without bf16


@pytest.mark.parametrize(
    "flags, xla, bf16",
    [(ZEN3, True, False), (SAPPHIRE_RAPIDS, False, True), (SKYLAKE_X, False, False), (frozenset(), True, False)],
)
def test_cpu_rule(flags, xla, bf16):
    assert hardware.default_jit_compile(flags, accelerator=False) is xla
    assert hardware.has_bfloat16_matmul(flags) is bf16


def test_accelerators_always_use_xla():
    assert hardware.default_jit_compile(SAPPHIRE_RAPIDS, accelerator=True) is True


def test_this_machine_flags_are_read():
    flags = hardware.cpu_flags()
    assert isinstance(flags, frozenset)
    if flags:  # Linux: every x86-64 CPU this runs on has SSE2
        assert "sse2" in flags or "asimd" in flags or "fp" in flags


def test_config_auto_resolves_and_explicit_values_win():
    assert TrainConfig().jit_compile == "auto"
    assert TrainConfig().use_xla is hardware.default_jit_compile()
    assert TrainConfig(jit_compile="true").use_xla is True and TrainConfig(jit_compile=False).use_xla is False
    with pytest.raises(ValueError, match="jit_compile='sometimes'"):
        TrainConfig(jit_compile="sometimes")
