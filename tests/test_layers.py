"""The package's architecture, checked: imports only point down the layers, there is no
import cycle, and no module touches another module's private names.

Layers, bottom to top (a module may import its own layer and the ones below):

0. ``_version``, ``errors``, ``checks``, ``atomic``, ``storage``, ``_jit``, ``npy``: shared
   helpers
1. ``_kernels``, ``discretize``, ``measures``, ``codec`` (the ``.hippo`` codec, whole: its
   kernels, channel and time codecs and the container): maths
2. ``engine``: the encoder
3. ``formats``: files and line protocols; ``chunk_codec``,
   ``numcodecs_codec``, ``zarr3_codec``: zarr chunks
4. ``pipelines``: whole jobs (compress, reconstruct, stream, many series); ``frames``
   (pandas DataFrames as ``.hippo`` files)
5. ``cli``: the Typer app
6. the package itself (``hippo_cli/__init__``, ``__main__``): the public API
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hippo_cli"

LAYERS = {
    "hippo_cli._version": 0, "hippo_cli.errors": 0, "hippo_cli.checks": 0,
    "hippo_cli.atomic": 0, "hippo_cli.storage": 0, "hippo_cli._jit": 0, "hippo_cli.npy": 0,
    "hippo_cli._kernels": 1, "hippo_cli.discretize": 1, "hippo_cli.measures": 1,
    "hippo_cli.codec": 1,
    "hippo_cli.engine": 2,
    "hippo_cli.formats": 3, "hippo_cli.chunk_codec": 3,
    "hippo_cli.numcodecs_codec": 3, "hippo_cli.zarr3_codec": 3,
    "hippo_cli.pipelines": 4, "hippo_cli.frames": 4,
    "hippo_cli.cli": 5,
    "hippo_cli": 6, "hippo_cli.__main__": 6,
}


def layer_of(module: str) -> int:
    """The layer of a module: its own entry or that of the closest package listed."""
    if module in ("hippo_cli", "hippo_cli.__main__"):
        return LAYERS[module]
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        key = ".".join(parts[:n])
        if key in LAYERS:
            return LAYERS[key]
    raise KeyError(f"{module} is in no layer: add it to LAYERS and to the README")


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(root: Path) -> dict[str, tuple[Path, ast.Module]]:
    return {module_name(p, root): (p, ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(root.rglob("*.py"))}


def imports_of(name: str, path: Path, tree: ast.Module, known: set[str]) -> set[str]:
    """The package modules ``name`` imports, at any depth of the file (lazy imports count)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "hippo_cli")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = ".".join(base[: len(base) - node.level + 1] +
                                  ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "hippo_cli":
                continue
            for alias in node.names:  # ``from . import engine`` names a module
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    found.discard(name)
    return {m for m in found if m in known}


def layer_violations(modules: dict[str, tuple[Path, ast.Module]]) -> list[str]:
    known = set(modules)
    bad = []
    for name, (path, tree) in modules.items():
        for dep in sorted(imports_of(name, path, tree, known)):
            if layer_of(dep) > layer_of(name):
                bad.append(f"{name} (layer {layer_of(name)}) imports {dep} "
                           f"(layer {layer_of(dep)})")
    return bad


def import_cycles(modules: dict[str, tuple[Path, ast.Module]]) -> list[list[str]]:
    known = set(modules)
    graph = {n: imports_of(n, p, t, known) for n, (p, t) in modules.items()}
    # a package's __init__ runs before its submodules: an edge from a submodule to its own
    # package (``from . import x`` where x is defined in __init__) is not a cycle to report
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if node.startswith(dep + "."):
                continue
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = "done"

    for n in sorted(graph):
        if n not in state:
            visit(n, [])
    return cycles


def _owned_private_names(tree: ast.Module) -> set[str]:
    """Private names a module defines: globals, class members, ``self._x`` / ``cls._x``."""
    owned: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            owned.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            owned.add(node.id)
        elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
              and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            owned.add(node.attr)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            owned.add(node.target.id)
    return {n for n in owned if n.startswith("_") and not n.startswith("__")}


def private_access(modules: dict[str, tuple[Path, ast.Module]]) -> list[str]:
    """``obj._name`` where this module does not define ``_name``, and ``from x import _y``
    from another module of the package (importing a module named ``_x`` is fine)."""
    bad = []
    for path, tree in modules.values():
        owned = _owned_private_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                attr = node.attr
                if attr.startswith("_") and not attr.startswith("__") and attr not in owned:
                    bad.append(f"{path.name}:{node.lineno}: .{attr}")
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if (alias.name.startswith("_") and not alias.name.startswith("__")
                            and (node.level or (node.module or "").startswith("hippo_cli"))
                            and not (path.parents[0] / f"{alias.name}.py").exists()
                            and not (path.parents[1] / f"{alias.name}.py").exists()):
                        bad.append(f"{path.name}:{node.lineno}: imports {alias.name}")
    return bad


@pytest.fixture(scope="module")
def modules() -> dict[str, tuple[Path, ast.Module]]:
    return package_modules(PACKAGE)


def test_every_module_has_a_layer(modules):
    for name in modules:
        layer_of(name)


def test_imports_point_down_the_layers(modules):
    assert layer_violations(modules) == []


def test_no_import_cycles(modules):
    assert import_cycles(modules) == []


def test_no_access_to_another_modules_private_names(modules):
    assert private_access(modules) == []


def codec_reaches_out(modules: dict[str, tuple[Path, ast.Module]]) -> list[str]:
    """Imports of the codec (``hippo_cli.codec``) outside itself and the shared helpers of
    layer 0: the codec is a product of its own and never imports the HiPPO side."""
    known = set(modules)
    bad = []
    for name, (path, tree) in modules.items():
        if not name.startswith("hippo_cli.codec"):
            continue
        for dep in sorted(imports_of(name, path, tree, known)):
            if not dep.startswith("hippo_cli.codec") and layer_of(dep) != 0:
                bad.append(f"{name} imports {dep}")
    return bad


def test_the_codec_never_imports_the_hippo_side(modules):
    assert any(n.startswith("hippo_cli.codec.") for n in modules)
    assert codec_reaches_out(modules) == []


# --- the checks themselves can fail -----------------------------------------------------
def _fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, tuple[Path, ast.Module]]:
    root = tmp_path / "hippo_cli"
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return package_modules(root)


def test_checks_catch_violations(tmp_path):
    mods = _fake_package(tmp_path, {
        "__init__.py": "",
        "engine/__init__.py": "",
        "engine/hippo.py": "def f():\n    from ..cli import app\n",  # upward, lazily
        "cli/__init__.py": "from ..engine import hippo\napp = 1\n",
        "formats/__init__.py": "",
        "formats/a.py": "from . import b\n",
        "formats/b.py": "from .a import thing\n",  # a cycle a -> b -> a
        "pipelines/__init__.py": "",
        "pipelines/p.py": "from ..engine.hippo import _secret\n\n"
                          "def g(enc):\n    return enc._state\n",
        "codec/__init__.py": "from ..checks import x\n",
        "codec/grid.py": "def h():\n    from ..measures import legendre\n",
        "checks.py": "",
        "measures/__init__.py": "",
        "measures/legendre.py": "",
    })
    assert codec_reaches_out(mods) == [
        "hippo_cli.codec.grid imports hippo_cli.measures.legendre"]
    assert layer_violations(mods) == [
        "hippo_cli.engine.hippo (layer 2) imports hippo_cli.cli (layer 5)"]
    assert ["hippo_cli.formats.a", "hippo_cli.formats.b", "hippo_cli.formats.a"] in \
        import_cycles(mods)
    assert private_access(mods) == ["p.py:1: imports _secret", "p.py:4: ._state"]
