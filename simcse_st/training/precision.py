"""What the machine can do fast: bf16 autocast detection."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AVX512-BF16 or AMX-BF16), read from ``/proc/cpuinfo``."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(flag in flags for flag in _CPU_BF16_FLAGS)


def bf16_supported(device: str | torch.device | None = None) -> bool:
    """Whether bf16 autocast runs natively (fast) on ``device`` (default: CUDA if available, else CPU)."""
    device_type = torch.device(device).type if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        return cpu_has_native_bf16()
    return False


def resolve_bf16(bf16: bool | None, device: str | torch.device | None = None) -> bool:
    """``None`` means auto: bf16 where the hardware runs it natively, else fp32 (said in a log line)."""
    if bf16 is not None:
        return bf16
    supported = bf16_supported(device)
    logger.info(
        "bf16 autocast: " + ("on (native bf16 support)" if supported else "off, training in fp32 (no native bf16)")
    )
    return supported
