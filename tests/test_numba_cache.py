"""The numba cache in real processes: a read-only install falls back to a user cache folder,
NUMBA_CACHE_DIR is respected, and an edited kernel file is recompiled (never served stale)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hippo_cli

PACKAGE = Path(hippo_cli.__file__).resolve().parent
SCRIPT = ("import numpy as np\nfrom hippo_cli import HiPPO\n"
          "print(HiPPO('lagt', 4, dt=0.5).update(np.array([1.0, 2.0]))[-1][0])")


def _copy_package(root: Path) -> Path:
    dest = root / "pkg" / "hippo_cli"
    shutil.copytree(PACKAGE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _env(root: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(root / "pkg"), HOME=str(root / "home"),
               XDG_CACHE_HOME=str(root / "home" / ".cache"), **extra)
    return env


def _cache_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")] if folder.exists() else []


def _run_read_only(pkg_root: Path, env: dict) -> subprocess.CompletedProcess:
    """Run SCRIPT with ``pkg_root`` mounted read-only (as root: a private read-only bind
    mount; otherwise: permissions)."""
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare to make a read-only mount as root")
        inner = (f"mount --bind {pkg_root} {pkg_root} && "
                 f"mount -o remount,bind,ro {pkg_root} && exec {sys.executable} -c \"$0\"")
        cmd = ["unshare", "-m", "sh", "-c", inner, SCRIPT]
    else:
        for p in [pkg_root, *pkg_root.rglob("*")]:
            p.chmod(p.stat().st_mode & ~0o222)
        cmd = [sys.executable, "-c", SCRIPT]
    # cwd matters: "python -c" puts it first on sys.path, and a checkout's root holds the
    # original hippo_cli
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                         cwd=pkg_root.parent)
    if os.geteuid() == 0 and res.returncode != 0 and "mount" in res.stderr:
        pytest.skip(f"read-only bind mount not permitted here: {res.stderr.strip()}")
    return res


@pytest.mark.slow
def test_read_only_install_uses_user_cache(tmp_path):
    pkg = _copy_package(tmp_path)
    env = _env(tmp_path)
    first = _run_read_only(pkg.parent, env)
    assert first.returncode == 0, first.stderr
    assert not _cache_files(pkg)  # nothing could be written beside the package
    user_cache = tmp_path / "home" / ".cache" / "numba"
    assert _cache_files(user_cache), "numba did not fall back to the user cache folder"
    second = _run_read_only(pkg.parent, env)
    assert second.returncode == 0 and second.stdout == first.stdout


@pytest.mark.slow
def test_numba_cache_dir_is_respected_and_edits_recompile(tmp_path):
    pkg = _copy_package(tmp_path)
    cache = tmp_path / "numba-cache"
    env = _env(tmp_path, NUMBA_CACHE_DIR=str(cache))
    run = [sys.executable, "-c", SCRIPT]
    before = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert _cache_files(cache) and not _cache_files(pkg)
    # a new version of the kernel file (a changed input scaling) must not be served stale
    kernels = pkg / "_kernels.py"
    text = kernels.read_text()
    assert text.count("hf0 = h * x[i, 0]") == 1
    kernels.write_text(text.replace("hf0 = h * x[i, 0]", "hf0 = 2.0 * h * x[i, 0]"))
    after = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300,
                           cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert float(after.stdout) == pytest.approx(2 * float(before.stdout), rel=1e-12)


@pytest.mark.parametrize("setting", [{"DEBUGINFO_DEFAULT": 1}, {"ENABLE_PROFILING": 1},
                                     {"BOUNDSCHECK": 1}, {"OPT": 2}, {"OPT": 0}, {}])
def test_which_numba_settings_keep_the_kernels_out_of_the_cache(monkeypatch, setting):
    from numba.core import config

    from hippo_cli._jit import cached

    for name, value in setting.items():
        monkeypatch.setattr(config, name, value)
    assert cached() is (not setting)


@pytest.mark.slow
def test_numba_debug_settings_keep_the_kernels_out_of_the_cache(tmp_path):
    """Under numba settings that change the machine code but not the cache's key, hippo's
    kernels are compiled for the process alone: nothing is written to the cache (every later
    process would load the slower code) and nothing read from it (the process asked for its
    own); an ordinary process then fills the cache and loads from it."""
    pkg = _copy_package(tmp_path)
    cache = tmp_path / "numba-cache"
    logged = "import logging\nlogging.basicConfig(level=logging.INFO)\n" + SCRIPT
    run = [sys.executable, "-c", logged]

    def job(**flags: str) -> subprocess.CompletedProcess:
        res = subprocess.run(run, env=_env(tmp_path, NUMBA_CACHE_DIR=str(cache), **flags),
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        return res

    assert "for this process" in job(NUMBA_DEBUGINFO="1").stderr
    assert not _cache_files(cache) and not _cache_files(pkg)
    assert "compiling" in job().stderr
    assert _cache_files(cache)
    assert "compiling" not in job().stderr  # loaded
    assert "for this process" in job(NUMBA_DEBUGINFO="1").stderr  # its own, not the cache's
