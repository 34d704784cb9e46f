"""Ablation: the paper's Tables 1, 3 and 6 and further studies on STS-B dev, with tables and plots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simcse_st import _lazy_exports

_EXPORTS: dict[str, str] = {
    "ABLATION_BASELINE": "simcse_st.training.presets",
    "DEFAULT_STUDIES": "simcse_st.ablation.runner",
    "STUDIES": "simcse_st.ablation.studies",
    "AblationRun": "simcse_st.ablation.ablation_run",
    "Study": "simcse_st.ablation.studies",
    "format_paired": "simcse_st.ablation.report",
    "format_study": "simcse_st.ablation.report",
    "run_ablation": "simcse_st.ablation.runner",
    "run_config": "simcse_st.ablation.runner",
    "write_report": "simcse_st.ablation.report",
}

__all__ = [
    "ABLATION_BASELINE",
    "DEFAULT_STUDIES",
    "STUDIES",
    "AblationRun",
    "Study",
    "format_paired",
    "format_study",
    "run_ablation",
    "run_config",
    "write_report",
]

if TYPE_CHECKING:
    from simcse_st.ablation.ablation_run import AblationRun
    from simcse_st.ablation.report import format_paired, format_study, write_report
    from simcse_st.ablation.runner import DEFAULT_STUDIES, run_ablation, run_config
    from simcse_st.ablation.studies import STUDIES, Study
    from simcse_st.training.presets import ABLATION_BASELINE

__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
