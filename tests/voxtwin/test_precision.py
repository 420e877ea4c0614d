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
