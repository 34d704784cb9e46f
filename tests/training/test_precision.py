"""bf16 detection: the CPU flags that mean native bf16, CUDA without a GPU, and what ``None`` resolves to."""

from __future__ import annotations

import pytest

import simcse_st.training.precision as precision


class FakeCpuinfo:
    text = ""

    def __init__(self, path: str) -> None:
        assert path == "/proc/cpuinfo"

    def read_text(self) -> str:
        if self.text is None:
            raise OSError("no /proc here")
        return self.text


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu avx2 avx512f avx512_bf16 amx_tile", True),
        ("fpu avx2 amx_bf16", True),
        ("fpu avx2 avx512f avx512_vnni", False),
        ("fpu avx512_bf16x", False),  # whole flags only
        (None, False),  # no /proc/cpuinfo (macOS, Windows)
    ],
)
def test_cpu_bf16_is_read_from_the_cpu_flags(
    monkeypatch: pytest.MonkeyPatch, flags: str | None, expected: bool
) -> None:
    monkeypatch.setattr(FakeCpuinfo, "text", flags)
    monkeypatch.setattr(precision, "Path", FakeCpuinfo)
    precision.cpu_has_native_bf16.cache_clear()
    try:
        assert precision.cpu_has_native_bf16() is expected
        assert precision.bf16_supported("cpu") is expected
        assert precision.resolve_bf16(None, "cpu") is expected
    finally:
        precision.cpu_has_native_bf16.cache_clear()


def test_explicit_values_win_and_other_devices_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    assert precision.bf16_supported("cuda") is False
    assert precision.bf16_supported("mps") is False
    assert precision.resolve_bf16(True, "cpu") is True and precision.resolve_bf16(False, "cpu") is False
