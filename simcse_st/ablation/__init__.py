"""The ablation runner: the paper's Tables 1, 3 and 6 and further studies on STS-B dev, with tables and plots."""

from simcse_st.ablation.ablation_run import AblationRun
from simcse_st.ablation.report import format_study, write_report
from simcse_st.ablation.runner import DEFAULT_STUDIES, run_ablation
from simcse_st.ablation.studies import STUDIES, Study

__all__ = ["DEFAULT_STUDIES", "STUDIES", "AblationRun", "Study", "format_study", "run_ablation", "write_report"]
