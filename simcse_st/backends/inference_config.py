"""``InferenceConfig``: how a model runs when it encodes (backend and precision), declared once.

Every function that loads a model to encode (:func:`~simcse_st.inference.load_model`, ``encode_file``,
``evaluate_model``, ``pairwise_similarity``, :class:`~simcse_st.search.EmbeddingIndex`) takes it, and every command
that encodes has one option per field, read from here. Importing this module imports no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from simcse_st.backends.names import BACKEND_PRECISIONS, BACKENDS, PRECISIONS, Backend, Precision


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class InferenceConfig:
    """The backend and the precision a model encodes with.

    - ``backend="torch"``: the model as trained. ``precision="fp32"`` is exact; ``"bf16"`` runs the transformer under
      torch bf16 autocast (embeddings returned in float32); ``"auto"`` (the default) is bf16 where the device runs
      bf16 natively (a CUDA GPU with bf16, a CPU with AVX512-BF16 or AMX) and fp32 elsewhere, as in training.
    - ``backend="onnx"`` (ONNX Runtime) or ``"openvino"``: the export in the model folder
      (:func:`~simcse_st.backends.export_model`), or one made on the fly into a temporary folder if it has none;
      ``"fp32"`` / ``"auto"`` the float export, ``"int8"`` the quantized one. Extras: ``simcse-st[onnx]``,
      ``simcse-st[openvino]``.

    Example:
        ::

            load_model("runs/simcse", inference=InferenceConfig(backend="onnx", precision="int8"))
    """

    backend: Backend = field(
        default="torch", metadata=_help("How the model runs: torch, onnx (ONNX Runtime) or openvino.")
    )
    precision: Precision = field(
        default="auto",
        metadata=_help(
            "fp32 = exact; bf16 = torch autocast; int8 = a quantized onnx/openvino export; "
            "auto = bf16 where the hardware runs it natively (torch), else fp32."
        ),
    )

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend={self.backend!r} is not one of {', '.join(BACKENDS)}.")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision={self.precision!r} is not one of {', '.join(PRECISIONS)}.")
        if self.precision not in BACKEND_PRECISIONS[self.backend]:
            hint = (
                "bf16 runs only with backend='torch'"
                if self.precision == "bf16"
                else ("int8 needs a quantized export: backend='onnx' or backend='openvino'")
            )
            raise ValueError(f"precision={self.precision!r} does not run on backend={self.backend!r}: {hint}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
