"""Shared helpers: repeated runs after warm-up (median/min/max seconds), the matmul peak, JSON output."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def time_repeated(fn: Callable[[], object], repeats: int, warmup: int = 1) -> dict:
    """Run fn `warmup` times, then `repeats` times; seconds per call (median, min, max) of the repeats.

    first_call_s, the first warm-up call, includes tracing and (XLA) compilation.
    """
    first_call_s = None
    for index in range(warmup):
        start = time.perf_counter()
        fn()
        if index == 0:
            first_call_s = time.perf_counter() - start
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "repeats": repeats,
        "warmup": warmup,
        "first_call_s": first_call_s,
        "samples_s": samples,
    }


def openblas_core_name() -> str | None:
    """The kernel family numpy's bundled OpenBLAS loaded with (e.g. "Haswell", "SkylakeX", "Zen"),
    None where numpy has no bundled OpenBLAS (or it does not say)."""
    import ctypes
    import glob
    import os

    import numpy as np

    libraries = glob.glob(os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs", "lib*openblas*.so*"))
    for path in libraries:
        library = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"):
            function = getattr(library, symbol, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode()
    return None


def numpy_matmul_gflops(n: int, repeats: int) -> dict:
    """Median GFLOP/s of an n x n float32 numpy product, and the OpenBLAS kernel that ran it."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    timing = time_repeated(lambda: a @ b, repeats, warmup=1)
    flops = 2.0 * n**3
    return {"n": n, "gflops_median": flops / timing["median_s"] / 1e9, **timing, "openblas_core": openblas_core_name()}


# OPENBLAS_CORETYPE forces OpenBLAS's kernel, and machines here may inherit it: this project's VM of
# 2026-12-04 (AMD Zen 5, EPYC family 26, AVX-512) had OPENBLAS_CORETYPE=Haswell in its environment, so
# numpy's product ran the AVX2 kernel at 200-214 GFLOP/s against 399-414 with the kernel OpenBLAS
# detects itself (AVX-512), and the shares of "peak" exceeded 100%.  The variable is read only when the
# library loads, so the detected kernel is timed in a child process without it.
def matmul_peak_gflops(n: int = 4096, repeats: int = 5) -> dict:
    """fp32 matmul peak of this machine, in GFLOP/s: numpy's n x n product with OpenBLAS's best kernel.

    Where OPENBLAS_CORETYPE is set, the product is timed both with it (in this process) and without it
    (OpenBLAS's own choice of kernel, in a child process); the faster of the two is the peak, the other
    is kept as "other" ("openblas_coretype_forced": whether the peak's kernel was the forced one).
    "openblas_core" names the kernel.  See combine_peaks for one peak from samples taken before and
    after the workloads.
    """
    import json
    import os
    import subprocess
    import sys

    here = numpy_matmul_gflops(n, repeats)
    if "OPENBLAS_CORETYPE" not in os.environ:
        return {**here, "openblas_coretype_forced": False}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {name: value for name, value in os.environ.items() if name != "OPENBLAS_CORETYPE"}
    child = subprocess.run(
        [sys.executable, "-c", f"import json; from benchmarks import timing; print(json.dumps(timing.numpy_matmul_gflops({n}, {repeats})))"],
        cwd=root, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if child.returncode != 0:  # the forced kernel's peak stands; the JSON says why there is no other
        return {**here, "openblas_coretype_forced": True, "other": {"error": child.stderr.strip().splitlines()[-1:]}}
    detected = json.loads(child.stdout)
    if detected["gflops_median"] > here["gflops_median"]:
        return {**detected, "openblas_coretype_forced": False, "other": {**here, "openblas_coretype_forced": True}}
    return {**here, "openblas_coretype_forced": True, "other": {**detected, "openblas_coretype_forced": False}}


def combine_peaks(before: dict, after: dict) -> dict:
    """One peak from two matmul_peak_gflops runs: the median GFLOP/s over all their samples.

    Some machines (cloud VMs) change speed over minutes; sampling before and after the workloads
    makes the share of peak less dependent on when the peak happened to be measured.
    """
    flops = 2.0 * before["n"] ** 3
    gflops = [flops / s / 1e9 for s in before["samples_s"] + after["samples_s"]]
    cores = {before.get("openblas_core"), after.get("openblas_core")}
    return {"n": before["n"], "gflops_median": statistics.median(gflops), "gflops_min": min(gflops), "gflops_max": max(gflops),
            "openblas_core": cores.pop() if len(cores) == 1 else "mixed", "before": before, "after": after}  # fmt: skip


def add_achieved(entry, peak_gflops: float, flops: float | None = None) -> None:
    """Add achieved GFLOP/s and its share of the matmul peak to every timed dict below `entry`.

    A dict is timed if it has "median_s"; its FLOPs are its own "flops"["total"] or, for
    sub-entries (e.g. inference backends), the nearest enclosing dict's.
    """
    if not isinstance(entry, dict):
        return
    if isinstance(entry.get("flops"), dict):
        flops = entry["flops"]["total"]
    if flops and "median_s" in entry:
        achieved = flops / entry["median_s"] / 1e9
        entry["achieved_gflops_per_s"] = achieved
        entry["share_of_matmul_peak"] = achieved / peak_gflops
    for key, value in list(entry.items()):
        if key != "flops":
            add_achieved(value, peak_gflops, flops)


def machine() -> dict:
    """This machine, for every benchmark's JSON: the CPU (name, family/model numbers, the vector and
    matrix extensions that decide sr-train's backend), its core count, the platform, TF and Keras."""
    import os
    import platform

    import keras
    import tensorflow as tf

    from sr_keras.training import hardware

    flags = hardware.cpu_flags()
    family, model = hardware.cpu_family_and_model()
    return {
        "cpus": os.cpu_count(), "cpu_model": hardware.cpu_model(),
        "cpu_family": family, "cpu_model_number": model,
        "avx2": "avx2" in flags, "avx512": hardware.has_avx512(flags), "amx_bf16": "amx_bf16" in flags,
        "bfloat16_matmul": hardware.has_bfloat16_matmul(flags),
        "platform": platform.platform(), "tensorflow": tf.__version__, "keras": keras.__version__,
    }  # fmt: skip


def print_json(result: dict, output: str | None = None) -> None:
    """Print `result` as one indented JSON object; also write it to `output` if given."""
    import json

    text = json.dumps(result, indent=2)
    print(text)
    if output:
        with open(output, "w") as handle:
            handle.write(text + "\n")
