from __future__ import annotations

import subprocess
import sys

import simcse_st


def test_every_public_name_resolves() -> None:
    assert set(simcse_st.__all__) == {"__version__", *simcse_st._EXPORTS}
    for name in simcse_st.__all__:
        assert getattr(simcse_st, name) is not None


def test_import_is_lazy_and_cli_is_not_a_global_module() -> None:
    code = "import sys, simcse_st, simcse_st.cli.app; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    missing = subprocess.run([sys.executable, "-c", "import cli"], capture_output=True, text=True, cwd="/")
    assert missing.returncode != 0 and "No module named 'cli'" in missing.stderr
