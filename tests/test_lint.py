import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    res = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:]


def test_no_dead_code():
    """vulture finds no unused function, class, method or variable in the package (the
    whitelist names what only a framework or a library user calls)."""
    vulture = shutil.which("vulture")
    if vulture is None:
        pytest.skip("vulture is not installed (pip install -e '.[test]' brings it)")
    res = subprocess.run([vulture, str(ROOT / "hippo_cli"), str(ROOT / "tests" /
                          "vulture_whitelist.py"), "--min-confidence", "60"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:]
