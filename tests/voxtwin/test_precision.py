"""One rule for inference precision: auto = bfloat16 only where the hardware runs it natively; names checked."""

import pytest
import torch

from voxtwin.precision import PRECISION_ENV, PrecisionError, inference_precision, native_bf16, requested_precision, resolve_precision


def test_names_come_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    assert requested_precision(None) == "auto"
    monkeypatch.setenv(PRECISION_ENV, " FP32 ")
    assert requested_precision(None) == "fp32"
    assert requested_precision("bf16") == "bf16"  # the argument wins over the environment


def test_unknown_names_are_one_clear_error(monkeypatch):
    with pytest.raises(PrecisionError, match="unknown precision 'half'; use auto, fp32, bf16"):
        requested_precision("half")
    monkeypatch.setenv(PRECISION_ENV, "fp16")
    with pytest.raises(PrecisionError, match=r"\$VOXTWIN_PRECISION 'fp16'"):
        resolve_precision(None, "cpu")


def test_auto_is_bf16_only_where_native(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    assert resolve_precision("auto", "cpu") == ("bf16" if native_bf16("cpu") else "fp32")
    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"  # asked for by name: also where emulated


def test_a_cap_on_onednns_instruction_set_below_bf16_keeps_auto_in_float32(monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 on a CPU with AVX512-BF16: oneDNN then emulates bfloat16 (measured 15x slower than
    float32 for `default`), so auto must resolve to fp32 whatever the CPU's flags say."""
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)  # a CPU that has it
    for cap, expected in (("AVX2", "fp32"), (" avx512_core_vnni ", "fp32"), ("AVX512_CORE_BF16", "bf16"), ("ALL", "bf16"), ("", "bf16")):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        native_bf16.cache_clear()
        try:
            assert resolve_precision("auto", "cpu") == expected, cap
            assert resolve_precision("bf16", "cpu") == "bf16"  # by name it is still what the user asked for
        finally:
            native_bf16.cache_clear()
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("DNNL_MAX_CPU_ISA", "AVX2")  # oneDNN's older name for the same cap
    native_bf16.cache_clear()
    try:
        assert resolve_precision("auto", "cpu") == "fp32"
    finally:
        native_bf16.cache_clear()


def test_the_context_runs_matrix_products_in_the_resolved_precision():
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8)
    with inference_precision("bf16", "cpu"):
        assert layer(x).dtype == torch.bfloat16
    with inference_precision("fp32", "cpu"):
        assert layer(x).dtype == torch.float32


def test_a_network_without_a_passed_bf16_check_keeps_float32_under_auto(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    assert resolve_precision("auto", "cpu", auto_bf16=False) == "fp32"
    assert resolve_precision("bf16", "cpu", auto_bf16=False) == "bf16"


def test_int8_only_for_a_network_that_has_it_on_the_cpu_and_under_auto_only_once_checked(monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # bfloat16 not native: where auto may pick int8
    native_bf16.cache_clear()
    try:
        assert resolve_precision("int8", "cpu") == "fp32"  # a network without an int8 form (HiFi-GAN) runs float32
        assert resolve_precision("int8", "cpu", int8=True) == "int8"
        assert resolve_precision("int8", "cuda", int8=True) == "fp32"  # quantized kernels are the CPU's
        assert resolve_precision("auto", "cpu", int8=True) == "fp32"  # not checked: auto keeps float32
        assert resolve_precision("auto", "cpu", int8=True, auto_int8=True) == "int8"
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
        native_bf16.cache_clear()
        assert resolve_precision("auto", "cpu", int8=True, auto_int8=True) == "bf16"  # native bfloat16 comes first
    finally:
        native_bf16.cache_clear()
