"""The package as installed: its layout, the wheel's package list, the public API of every package, lazy imports."""

from __future__ import annotations

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import simcse_st

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ablation", "backends", "data", "evaluation", "inference", "losses", "modules", "search", "training")


def _modules() -> list[str]:
    names = [module.name for module in pkgutil.walk_packages(simcse_st.__path__, "simcse_st.")]
    cli = {f"simcse_st.cli.{path.stem}" for path in (ROOT / "cli").glob("*.py") if path.stem != "__init__"}
    return sorted({*names, *cli})


def test_the_top_level_is_one_package_per_capability() -> None:
    entries = {path.name for path in (ROOT / "simcse_st").iterdir() if path.name != "__pycache__"}
    assert entries == {"__init__.py", "py.typed", *PACKAGES}
    for name in PACKAGES:
        assert (ROOT / "simcse_st" / name / "__init__.py").is_file(), name


def test_the_wheel_lists_every_package_of_the_source_tree() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    source = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "simcse_st").rglob("__init__.py")}
    assert set(config["packages"]) == source | {"simcse_st.cli"}
    assert config["package-dir"]["simcse_st.cli"] == "cli"


@pytest.mark.parametrize("package", ["simcse_st", *(f"simcse_st.{name}" for name in PACKAGES)])
def test_every_name_in_all_resolves_and_lazy_exports_match(package: str) -> None:
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    exports = getattr(module, "_EXPORTS", None)
    if exports is not None:  # a lazy package: its export table and __all__ name the same things
        assert set(module.__all__) - {"__version__"} == set(exports), package


def test_every_module_imports() -> None:
    for name in _modules():
        importlib.import_module(name)


def test_what_the_docs_and_docstrings_cite_exists() -> None:
    """Every ``simcse_st.x.y`` named in docs/, README.md and the docstrings resolves to a module or an attribute."""
    texts = [path.read_text() for path in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]]
    texts += [path.read_text() for path in (ROOT / "simcse_st").rglob("*.py")]
    cited = {match for text in texts for match in re.findall(r"\bsimcse_st(?:\.[A-Za-z_][A-Za-z0-9_]*)+", text)}
    missing = []
    for dotted in sorted(cited):
        parts = dotted.split(".")
        for split in range(len(parts), 0, -1):
            try:
                target = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            try:
                for attribute in parts[split:]:
                    target = getattr(target, attribute)
            except AttributeError:
                missing.append(dotted)
            break
        else:
            missing.append(dotted)
    assert not missing, missing


def test_import_is_lazy_and_cli_is_not_a_global_module() -> None:
    code = "import sys, simcse_st, simcse_st.cli.app; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    missing = subprocess.run([sys.executable, "-c", "import cli"], capture_output=True, text=True, cwd="/")
    assert missing.returncode != 0 and "No module named 'cli'" in missing.stderr
