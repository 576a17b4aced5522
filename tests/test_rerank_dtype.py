"""The automatic dtype (core.rerank.quantize.auto_dtype): the fastest dtype on this CPU among
those whose scores stayed within the bounds, bf16 only with native bf16 -- decided from
injected timings, and from a real measurement on this machine."""

from __future__ import annotations

import pytest

from core.rerank.quantize import (
    auto_dtype,
    cpu_candidates,
    has_native_bf16,
    int8_supported,
    measure_dtype_seconds,
)

BOTH = {"int8": True, "bfloat16": True}
AVX512 = frozenset({"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"})
AVX2 = frozenset({"avx2", "fma"})


def test_fastest_within_bounds_wins_with_injected_timings():
    if not int8_supported(AVX2):
        pytest.skip("this PyTorch has no int8 kernels")
    t = {"float32": 1.0, "int8": 0.5, "bfloat16": 0.4}
    assert auto_dtype("cpu", AVX512, seconds=t, within_bounds=BOTH) == "bfloat16"
    assert auto_dtype("cpu", AVX512, seconds={**t, "int8": 0.3}, within_bounds=BOTH) == "int8"
    # a CPU where int8 turned out slower than fp32 keeps fp32
    assert auto_dtype("cpu", AVX2, seconds={"float32": 1.0, "int8": 1.2}, within_bounds=BOTH) == "float32"


def test_bf16_only_with_native_bf16_and_nothing_outside_the_bounds():
    fast_bf16 = {"float32": 1.0, "int8": 0.5, "bfloat16": 0.01}
    # no native bf16: emulated bf16 is never a candidate, however fast the timings claim it is
    assert "bfloat16" not in cpu_candidates(AVX2, BOTH)
    got = auto_dtype("cpu", AVX2, seconds=fast_bf16, within_bounds=BOTH)
    assert got == ("int8" if int8_supported(AVX2) else "float32")
    # out of bounds: not picked even when fastest
    assert auto_dtype("cpu", AVX512, seconds=fast_bf16, within_bounds={"int8": False, "bfloat16": False}) == "float32"
    assert auto_dtype("cpu", AVX512, seconds=fast_bf16, within_bounds={"int8": False, "bfloat16": True}) == "bfloat16"
    # no int8 kernels without AVX2 (an ARM laptop): fp32
    assert auto_dtype("cpu", frozenset({"neon"}), seconds=fast_bf16, within_bounds=BOTH) == "float32"
    assert auto_dtype("cuda:0", seconds=fast_bf16) == "bfloat16" and auto_dtype("mps") == "float32"


def test_this_machine_is_measured_and_the_fastest_candidate_chosen():
    candidates = cpu_candidates(None, BOTH)
    if len(candidates) == 1:
        pytest.skip("only float32 runs natively here")
    seconds = measure_dtype_seconds(tuple(candidates))
    assert set(seconds) == set(candidates) and all(s > 0 for s in seconds.values())
    assert auto_dtype("cpu", within_bounds=BOTH) == min(candidates, key=seconds.get)
    assert ("bfloat16" in candidates) == has_native_bf16()
