"""``InferenceConfig`` / ``ExportConfig``: the settings and the combinations refused; ``auto`` precision."""

from __future__ import annotations

import pytest

from simcse_st.backends import ExportConfig, InferenceConfig, resolve_precision
from simcse_st.backends.names import BACKEND_PRECISIONS


def test_defaults_are_torch_and_auto() -> None:
    assert InferenceConfig() == InferenceConfig(backend="torch", precision="auto")
    assert ExportConfig().backend == "onnx" and ExportConfig().quantize == "none"


@pytest.mark.parametrize(("backend", "precision"), [("torch", "int8"), ("onnx", "bf16"), ("openvino", "bf16")])
def test_a_precision_the_backend_cannot_run_is_refused(backend: str, precision: str) -> None:
    with pytest.raises(ValueError, match=f"precision='{precision}' does not run on backend='{backend}'"):
        InferenceConfig(backend=backend, precision=precision)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["backend", "precision"])
def test_unknown_names_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match=f"{field}='tpu' is not one of"):
        InferenceConfig(**{field: "tpu"})  # type: ignore[arg-type]


def test_every_allowed_pair_constructs() -> None:
    for backend, precisions in BACKEND_PRECISIONS.items():
        for precision in precisions:
            assert InferenceConfig(backend=backend, precision=precision).to_dict() == {  # type: ignore[arg-type]
                "backend": backend,
                "precision": precision,
            }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"backend": "torch"}, "cannot be exported"),
        ({"quantize": "int4"}, "quantize='int4'"),
        ({"calibration_size": 0}, "at least 1"),
        ({"calibration_size": True}, "must be an integer"),
        ({"opset": 9}, "between 13 and 20"),
    ],
)
def test_bad_export_settings_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExportConfig(**changes)


def test_auto_is_bf16_exactly_where_the_hardware_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import simcse_st.training.precision as precision

    for native in (True, False):
        monkeypatch.setattr(precision, "bf16_supported", lambda device=None, native=native: native)
        assert resolve_precision(InferenceConfig(), "cpu") == ("bf16" if native else "fp32")
        # explicit settings are kept; onnx / openvino "auto" is their float export
        assert resolve_precision(InferenceConfig(precision="fp32"), "cpu") == "fp32"
        assert resolve_precision(InferenceConfig(backend="onnx"), "cpu") == "fp32"
