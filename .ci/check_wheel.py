"""Run with the Python of a venv where the simcse-st wheel is installed (not editable), from outside the checkout:
the installed package must hold every module, and every command must start."""

from __future__ import annotations

import importlib
import importlib.resources
import pkgutil
import subprocess
import sys
from pathlib import Path

import simcse_st

location = Path(simcse_st.__file__).resolve().parent
assert "site-packages" in location.parts, f"simcse_st is imported from {location}, not from the installed wheel"
modules = sorted(module.name for module in pkgutil.walk_packages(simcse_st.__path__, "simcse_st."))
for name in modules:
    importlib.import_module(name)
for package in ("ablation", "cli", "data", "evaluation", "inference", "losses", "modules", "search", "training"):
    assert f"simcse_st.{package}" in modules, f"the wheel has no simcse_st.{package}"
script = Path(sys.executable).with_name("simcse-st")
page = importlib.resources.files("simcse_st.search").joinpath("search_page.html")
assert page.is_file() and "<html" in page.read_text("utf-8").lower(), "the wheel has no search page"
commands = ["train", "encode", "evaluate", "similarity", "quickstart", "ablate", "index", "search", "serve"]
for arguments in (["--version"], ["--help"], *([command, "--help"] for command in commands)):
    done = subprocess.run([str(script), *arguments], capture_output=True, text=True)
    assert done.returncode == 0, (arguments, done.stdout, done.stderr)
print(f"wheel: {len(modules)} modules import, {len(commands) + 2} commands start, from {location}")
