"""Every example in the README runs as written: each fenced block is run (bash in a scratch
folder holding a copy of ``examples/``; Python with ``exec``) or listed here with the reason
it is not, and the outputs the walk-through quotes (``#   ...`` lines) are what the commands
print."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Blocks not run here, by their first line, and why.
NOT_RUN = {
    "python -m pip install -e . && bash examples/walkthrough.sh":
        "the main job: tests/test_subprocess.py::test_readme_main_job runs it",
    "python -m pip install -e '.[test]' && python -m pytest": "the test command itself",
    'python -m pytest -m "not slow"': "the test command itself",
    ("hippo compress INPUT --max-error E|P% [-o OUT.hippo|-] [--column NAME]... "
     "[--time-column NAME]"): "a usage synopsis",
    "python benchmarks/run.py": "the benchmarks (minutes; their tables are in the README)",
}


def _blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    return [(lang, body) for lang, body in re.findall(r"```(\w+)\n(.*?)\n```", text, re.S)]


def _run_bash(body: str, cwd: Path) -> str:
    res = subprocess.run(["bash", "-ec", body], cwd=cwd, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, f"{body}\n--- stderr ---\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


def _scratch(folder: Path) -> Path:
    """A fresh folder holding a copy of ``examples/`` (each block starts from nothing)."""
    shutil.copytree(ROOT / "examples", folder / "examples",
                    ignore=shutil.ignore_patterns("out", "__pycache__"))
    return folder


def test_every_block_is_run_or_excused():
    runnable = [b for b in _blocks() if b[1].splitlines()[0] not in NOT_RUN]
    assert {lang for lang, _ in runnable} <= {"bash", "python"}
    firsts = [b.splitlines()[0] for _, b in runnable]
    assert len(runnable) == 4, firsts  # walk-through, .hippo, many series, library


@pytest.mark.slow
def test_bash_examples_run_as_written(tmp_path):
    for i, (lang, body) in enumerate(_blocks()):
        if lang != "bash" or body.splitlines()[0] in NOT_RUN:
            continue
        out = _run_bash(body, _scratch(tmp_path / f"block{i}"))
        # quoted outputs: each "#   text" line is printed (a trailing "..." elides the rest)
        printed = out.splitlines()
        for line in body.splitlines():
            if not line.startswith("#   "):
                continue
            quoted = line[4:].strip()
            head = quoted[:-3].rstrip() if quoted.endswith("...") else quoted
            assert any(p.strip().startswith(head) for p in printed), \
                f"the README quotes {quoted!r}; the commands printed:\n{out[-3000:]}"


def test_python_examples_run_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for lang, body in _blocks():
        if lang == "python":
            exec(compile(body, "README.md", "exec"), {})
