"""The app as a whole: help with an example on every command, --version, shared error handling, quickstart wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_helpers import assert_clean_error, assert_ok, invoke

import simcse_st
from simcse_st.cli.app import app
from simcse_st.cli.common import cli_errors, one_line, with_flags
from simcse_st.training import QUICKSTART, SimCSEConfig


def _command_names() -> list[str]:
    return [command.name or command.callback.__name__ for command in app.registered_commands]


def test_the_commands_are_registered() -> None:
    assert set(_command_names()) == {
        *("train", "encode", "evaluate", "similarity", "quickstart", "ablate", "index", "search", "serve", "export")
    }


def test_every_command_has_help_with_an_example() -> None:
    for command in _command_names():
        result = invoke(command, "--help")
        assert_ok(result)
        assert "Example" in result.output and f"simcse-st {command}" in result.output, command
        assert "--quiet" in result.output, command


def test_root_help_lists_commands_and_version() -> None:
    result = invoke("--help")
    assert_ok(result)
    for name in _command_names():
        assert name in result.output
    version = invoke("--version")
    assert_ok(version)
    assert version.output.strip() == f"simcse-st {simcse_st.__version__}"


def test_library_parameters_become_the_commands_flags() -> None:
    import typer
    import typer.main

    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    ctx = typer.Context(command)
    assert with_flags("pass overwrite=True to train into it, or resume=True.", ctx) == (
        "pass --overwrite to train into it, or --resume."
    )
    assert with_flags("learning_rate=-1.0 is invalid: must be > 0.", ctx) == "--lr -1.0 is invalid: must be > 0."
    assert with_flags("Pass errors='skip' to drop them.", ctx) == "Pass --decode-errors skip to drop them."
    assert with_flags("fast_dropout=False, gather_across_devices=True", ctx) == "--native-dropout, --gather"
    assert with_flags("choose one with column=NAME.", ctx) == "choose one with column=NAME."  # train has no --column
    assert with_flags("a.b=1 and x == y", ctx) == "a.b=1 and x == y"


@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError("no such file: 'x'"),
        FileExistsError("exists"),
        NotADirectoryError("not a dir"),
        IsADirectoryError("a dir"),
        ValueError("bad\nvalue"),
        OSError("offline"),
        ImportError("pip install foo"),
    ],
)
def test_cli_errors_prints_one_line_and_exits_1(error: Exception, capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    with pytest.raises(typer.Exit) as exit_info, cli_errors():
        raise error
    assert exit_info.value.exit_code == 1
    assert capsys.readouterr().err == f"Error: {one_line(error)}\n"
    assert "\n" not in one_line(error)


def test_cli_errors_lets_bugs_through() -> None:
    with pytest.raises(RuntimeError), cli_errors():
        raise RuntimeError("a bug: keep the traceback")


def test_quickstart_passes_its_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    results = {"stsb_dev_before": 1.0, "stsb_dev_after": 2.0, "config": {"max_steps": 7}, "output_dir": "x"}
    monkeypatch.setattr("simcse_st.training.run_quickstart", lambda **kwargs: calls.append(kwargs) or results)
    monkeypatch.setenv("SIMCSE_ST_DATA", str(tmp_path))
    result = invoke("quickstart", "--output", tmp_path / "qs", "--max-steps", "7", "--no-bf16", "-q")
    assert_ok(result)
    assert calls == [
        {
            "data_dir": str(tmp_path),  # from $SIMCSE_ST_DATA
            "output_dir": tmp_path / "qs",
            "config": SimCSEConfig(max_steps=7, eval_steps=50, bf16=False),
            "show_progress_bar": False,
        }
    ]
    assert "before 1.00 -> after 2.00 (7 steps, model in x)" in result.output
    old = invoke("quickstart", "--output", tmp_path / "qs", "--steps", "5", "-q")  # the old spelling, hidden
    assert_ok(old)
    assert calls[-1]["config"] == QUICKSTART.__class__(max_steps=5, eval_steps=50) and "deprecated" in old.output
    assert "--steps" not in invoke("quickstart", "--help").output.replace("--max-steps", "")


def test_quickstart_without_data_is_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIMCSE_ST_DATA", raising=False)
    assert_clean_error(invoke("quickstart", "-q"), "No data directory")


# Each command and the one library function it calls (the CLI's options mirror that function's keywords).
LIBRARY_CALLS = {
    "train": "simcse_st.training.train.train_simcse",
    "encode": "simcse_st.inference.encoding.encode_file",
    "evaluate": "simcse_st.evaluation.evaluate.evaluate_model",
    "similarity": "simcse_st.inference.similarity.pairwise_similarity",
    "quickstart": "simcse_st.training.quickstart.run_quickstart",
    "ablate": "simcse_st.ablation.runner.run_ablation",
    "index": "simcse_st.search.build_index.build_index",
    "serve": "simcse_st.search.index_server.serve_index",
    "export": "simcse_st.backends.export_model.export_model",
}


@pytest.mark.parametrize("command", sorted(LIBRARY_CALLS))
def test_options_named_like_a_library_keyword_have_its_default(command: str) -> None:
    """The commands that are not generated from SimCSEConfig keep literal defaults: they must equal the library's."""
    import importlib
    import inspect

    import typer.main

    module, name = LIBRARY_CALLS[command].rsplit(".", 1)
    signature = inspect.signature(getattr(importlib.import_module(module), name))
    params = typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]
    aliases = {"data": "data_dir", "output": "output_dir"}
    compared = 0
    for param in params:
        keyword = signature.parameters.get(aliases.get(param.name, param.name))
        if keyword is None or keyword.default is inspect.Parameter.empty:
            continue
        if param.default is None and isinstance(keyword.default, tuple):
            continue  # a repeatable option: not given = the library's default sequence
        compared += 1
        default = str(param.default) if isinstance(param.default, Path) else param.default
        assert default == keyword.default, (command, param.name, param.default, keyword.default)
    assert compared >= 1, command
