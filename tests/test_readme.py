"""Every example in the README and in ``docs/*.md`` runs as written, and every link resolves.

Each fenced ``bash`` or ``python`` block is run (bash in a scratch folder holding a copy of
``examples/``; Python with ``exec`` in such a folder) or listed in :data:`NOT_RUN` by its first
line with the reason it is not; ``text`` blocks are synopses and printed output, never
commands; any other fence is an error (a command in it would escape the tests). The outputs a
bash block quotes (``#   ...`` lines) are what its commands print. Relative links and images
point at files that exist, and their ``#anchors`` at headings of the page they name.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
#: The README's first block: tests/test_subprocess.py::test_readme_main_job runs it.
MAIN_JOB = "python -m pip install -e . && bash examples/walkthrough.sh"
#: Blocks not run here, by their first line (without a trailing comment), and why.
NOT_RUN = {
    "hippo compress s3://bucket/in/sensor.csv -E 1% -o s3://bucket/out/sensor.hippo":
        "needs an S3 server (tests/test_object_storage.py runs these against moto's)",
    ("hippo compress s3://bucket/in/sensor.csv --max-error 1% -t time -o "
     "s3://bucket/out/sensor.hippo"):
        "needs an S3 server (tests/test_object_storage.py runs these against moto's)",
    MAIN_JOB: "the main job: tests/test_subprocess.py::test_readme_main_job runs it",
    "python -m pip install -e '.[test]' && python -m pytest -n auto --dist loadgroup":
        "the test command itself",
    'python -m pytest -m "not slow"': "the test command itself",
    "ruff check .": "tests/test_lint.py runs ruff and vulture",
    "python benchmarks/run.py": "the benchmarks: about 6 minutes (their tables are the docs')",
    "python -m pip install -e '.[bench]' && python benchmarks/codec.py":
        "needs the benchmark data outside the repository, and minutes",
    ("python -m pip install -e '.[examples]' && python benchmarks/compression.py --plot "
     "docs/compression.png"): "a benchmark that rewrites docs/compression.png",
    "python -m pip install -e '.[dask]' && python benchmarks/fleet.py":
        "minutes: 1000 series x 10^5 samples, on a Dask cluster too",
    "python benchmarks/codec.py --baseline 893145d --levels best":
        "needs the benchmark data outside the repository, and a minute",
    "python benchmarks/codec.py --baseline dc1c2ce --levels best":
        "needs the benchmark data outside the repository, and a minute",
    "python benchmarks/codec.py --baseline 5ef05ee --levels best":
        "needs the benchmark data outside the repository, and a minute",
    "python benchmarks/codec.py --baseline dbffa10":
        "needs the benchmark data outside the repository, git history and minutes (before/after)",
    "python benchmarks/many_ids.py --before /path/to/older/checkout":
        "minutes, and another checkout (tests/test_many_ids.py checks the behaviour)",
    "PYTHONPATH=$PWD python benchmarks/dask_scale.py --runs 5":
        "the Dask scaling benchmark: minutes, and meant for an idle machine",
    "PYTHONPATH=. python benchmarks/levels.py --repeat 11":
        "needs the benchmark data outside the repository, pysz and zstandard; then "
        "codec.py --baseline needs git history (a before/after benchmark)",
    "PYTHONPATH=. python benchmarks/stream_frames.py":
        "the five real series of the benchmark data beside the checkout, which a clone does "
        "not have (its figures are bytes, not times)",
    "PYTHONPATH=. python benchmarks/e2e.py --repeat 5":
        "minutes: whole processes on a 160 MB generated CSV, paired with zstd -d",
    "python benchmarks/first_run.py --runs 9 --baseline dbffa10":
        "minutes: a minute per cold run of hippo 0.2 (tests/test_first_run.py checks the "
        "behaviour, this measures it)",
}
LANGUAGES = {"bash", "python", "text"}  # text: synopses and printed output, not commands


def _fenced(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)\n```$", text, re.S | re.M)


def _key(body: str) -> str:
    """What NOT_RUN knows a block by: its first line without a trailing ``# comment``."""
    return re.sub(r"\s+#.*$", "", body.splitlines()[0]).strip()


def _blocks(lang: str) -> list[tuple[str, str]]:
    """(id, body) of every block in ``lang`` that is run: ids are ``page:number``."""
    out = []
    for page in PAGES:
        for i, (kind, body) in enumerate(_fenced(page.read_text()), 1):
            if kind == lang and _key(body) not in NOT_RUN:
                out.append((f"{page.relative_to(ROOT)}:{i}", body))
    return out


BASH = _blocks("bash")
PYTHON = _blocks("python")


def _scratch(folder: Path) -> Path:
    """A fresh folder holding a copy of ``examples/`` (each block starts from nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "examples", folder / "examples",
                    ignore=shutil.ignore_patterns("out", "__pycache__"))
    return folder


def test_every_block_is_run_or_excused():
    used = set()
    for page in PAGES:
        text = page.read_text()
        blocks = _fenced(text)
        fences = len(re.findall(r"^```", text, re.M))
        assert fences == 2 * len(blocks), f"{page.name}: a fence is not closed or not parsed"
        for lang, body in blocks:
            assert lang in LANGUAGES, f"{page.name}: a ```{lang} block: use bash, python or text"
            if lang != "text" and _key(body) in NOT_RUN:
                used.add(_key(body))
    assert used == set(NOT_RUN), f"excuses no block needs: {set(NOT_RUN) - used}"
    first = _fenced(README.read_text())[0]
    assert first == ("bash", MAIN_JOB), "the README must start with the main job"
    assert BASH and PYTHON


@pytest.mark.slow
@pytest.mark.parametrize("where, body", BASH, ids=[b[0] for b in BASH])
def test_bash_examples_run_as_written(where, body, tmp_path):
    res = subprocess.run(["bash", "-ec", body], cwd=_scratch(tmp_path), capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, f"{where}\n{body}\n--- stderr ---\n{res.stderr[-3000:]}"
    out = res.stdout + res.stderr
    # quoted outputs: each "#   text" line is printed (a trailing "..." elides the rest)
    printed = [p.strip() for p in out.splitlines()]
    for line in body.splitlines():
        if not line.startswith("#   "):
            continue
        quoted = line[4:].strip()
        head = quoted[:-3].rstrip() if quoted.endswith("...") else quoted
        assert any(p.startswith(head) for p in printed), \
            f"{where} quotes {quoted!r}; the commands printed:\n{out[-3000:]}"


@pytest.mark.parametrize("where, body", PYTHON, ids=[b[0] for b in PYTHON])
def test_python_examples_run_as_written(where, body, tmp_path, monkeypatch):
    monkeypatch.chdir(_scratch(tmp_path))
    exec(compile(body, where, "exec"), {"__name__": "__main__"})


# ------------------------------------------------------------------------------------ links
def _unfenced(text: str) -> str:
    """The page without its fenced blocks (a ``# comment`` in a block is no heading)."""
    return re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M)


def _prose(text: str) -> str:
    """The page without fenced blocks and inline code (no links live there)."""
    return re.sub(r"`[^`\n]*`", "", _unfenced(text))


def _anchors(page: Path) -> set[str]:
    """GitHub's ids of the page's headings: lower case, punctuation dropped, spaces to -."""
    ids: set[str] = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *$", _unfenced(page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        n, candidate = 0, slug
        while candidate in ids:
            n += 1
            candidate = f"{slug}-{n}"
        ids.add(candidate)
    return ids


def _links(page: Path) -> list[str]:
    text = _prose(page.read_text())
    targets = re.findall(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    targets += re.findall(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", text)
    return targets


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_relative_links_and_images_resolve(page):
    links = _links(page)
    assert links, f"{page.name} links nowhere (is the link pattern broken?)"
    for link in links:
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto: ... - not ours to check
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.relative_to(ROOT)}: {link} -> no such file"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target), \
                f"{page.relative_to(ROOT)}: {link} -> no heading #{anchor} in {target.name}"
