"""What a user installs is what the tests test: the wheel holds every module of the source
tree (a package once left out of a hand-kept list made ``hippo --help`` fail after a normal
install), the typing marker and the licence; the version is one string everywhere.

``.ci/run`` goes further: it installs the built wheel into a fresh virtual environment and runs
the tests of what is installed there - packaging, the commands, the fixtures, the codec API,
the zarr codec through the wheel's entry points, the pandas helpers (``HIPPO_TEST_INSTALLED=1``,
checked by ``test_tests_use_the_installed_package_when_asked``)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import hippo_cli

ROOT = Path(__file__).resolve().parents[1]


def _source_modules() -> set[str]:
    pkg = ROOT / "hippo_cli"
    return {p.relative_to(ROOT).as_posix() for p in pkg.rglob("*.py")
            if "__pycache__" not in p.parts}


def test_packages_are_discovered_not_listed():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "[tool.setuptools.packages.find]" in pyproject
    assert 'include = ["hippo_cli*"]' in pyproject
    assert "packages = [" not in pyproject  # no hand-kept list
    # every folder with modules is a package (namespace folders are easy to leave out)
    for folder in (ROOT / "hippo_cli").rglob("*"):
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py")):
            assert (folder / "__init__.py").is_file(), f"{folder} has no __init__.py"


@pytest.mark.slow
@pytest.mark.xdist_group("source_tree")  # builds in the source tree: one such test at a time
def test_the_wheel_holds_every_module(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                          str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    (wheel,) = tmp_path.glob("hippo_cli-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert _source_modules() <= names, sorted(_source_modules() - names)
    assert "hippo_cli/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert f"-{hippo_cli.__version__}-" in wheel.name


def test_one_version_string():
    version = hippo_cli.__version__
    assert version.count(".") == 2
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {version} " in changelog  # the released version has its entry
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flags(flag):
    res = subprocess.run([sys.executable, "-m", "hippo_cli", flag], capture_output=True,
                         text=True)
    assert res.returncode == 0 and res.stdout == f"hippo {hippo_cli.__version__}\n"


def test_tests_use_the_installed_package_when_asked():
    """Under ``.ci/run``'s second pass the suite must import the installed wheel, not the
    source tree beside it."""
    location = Path(hippo_cli.__file__).resolve()
    if os.environ.get("HIPPO_TEST_INSTALLED") == "1":
        assert ROOT not in location.parents, location
        assert "site-packages" in location.parts
    else:
        assert location.is_file()
