"""``run_quickstart`` itself on the tiny BERT (for all-MiniLM-L6-v2): before, after, the saved best checkpoint."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import SENTENCES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_helpers import write_sts_dir

from simcse_st.data.data_dir import WIKI_CORPUS
from simcse_st.training import QUICKSTART, run_quickstart


def test_run_quickstart_reports_before_and_the_saved_best(
    tiny_bert_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_sts_dir(tmp_path / "data")
    (data / WIKI_CORPUS).parent.mkdir(parents=True)
    (data / WIKI_CORPUS).write_text("\n".join(SENTENCES) + "\n")
    monkeypatch.setattr("simcse_st.training.quickstart.offline_minilm_path", lambda: str(tiny_bert_dir))
    config = replace(QUICKSTART, max_steps=4, eval_steps=2, batch_size=4, bf16=False)
    results = run_quickstart(data, tmp_path / "out", config, show_progress_bar=False)
    assert results["global_step"] == 4 and results["config"] == config.to_dict()
    history = [entry["eval_sts-dev_stsb_spearman"] for entry in results["eval_history"]]
    assert len(history) == 2 and results["stsb_dev_after_raw"] == max(history)  # "after" is the saved best
    assert results["stsb_dev_after"] == round(100 * max(history), 2)
    assert -1 <= results["stsb_dev_before_raw"] <= 1 and results["stsb_dev_before"] == round(
        100 * results["stsb_dev_before_raw"], 2
    )
    assert json.loads((tmp_path / "out" / "results.json").read_text())["best_metric"] == max(history)
    with pytest.raises(FileNotFoundError, match="Wikipedia sentences"):
        run_quickstart(tmp_path / "out", tmp_path / "o2", config)  # a directory without WIKI/


class _Stop(Exception):
    pass


def test_the_old_keywords_still_work_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_sts_dir(tmp_path / "data")
    (data / WIKI_CORPUS).parent.mkdir(parents=True)
    (data / WIKI_CORPUS).write_text("\n".join(SENTENCES) + "\n")
    configs = []

    def stop(model: str, config: object) -> None:
        configs.append(config)
        raise _Stop

    monkeypatch.setattr("simcse_st.training.quickstart.build_model", stop)
    monkeypatch.setattr("simcse_st.training.quickstart.offline_minilm_path", lambda: "unused")
    with pytest.warns(FutureWarning, match="run_quickstart"), pytest.raises(_Stop):
        run_quickstart(data, steps=7, seed=3, bf16=False)
    assert configs == [replace(QUICKSTART, max_steps=7, seed=3, bf16=False)]
