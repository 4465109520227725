"""Dependencies point one way (DESIGN.md): `tui` → `datagen`. The library never imports the TUI or
Textual, so it runs (and is tested) without a screen; only the `datagen tui` command reaches the TUI,
by name, through importlib."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"tui", "textual"}
# The one way in: the `tui` command of the CLI imports the package by name when it runs.
ALLOWED_DYNAMIC = {("datagen/cli.py", "tui_command", "tui")}


def _root(module: str | None) -> str:
    return (module or "").split(".")[0]


def _violations(path: Path) -> list[str]:
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    found: list[str] = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Import):
            found.extend(
                f"{rel}:{node.lineno} import {a.name}" for a in node.names if _root(a.name) in FORBIDDEN
            )
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _root(node.module) in FORBIDDEN:
            found.append(f"{rel}:{node.lineno} from {node.module} import ...")
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            arg = node.args[0] if node.args else None
            if name in ("importlib.import_module", "import_module", "__import__") and isinstance(
                arg, ast.Constant
            ):
                target = _root(str(arg.value))
                if target in FORBIDDEN and (rel, function, str(arg.value)) not in ALLOWED_DYNAMIC:
                    found.append(f"{rel}:{node.lineno} {name}({arg.value!r})")
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return found


def test_datagen_never_imports_tui_or_textual() -> None:
    files = sorted((ROOT / "datagen").rglob("*.py"))
    assert files
    violations = [v for f in files for v in _violations(f)]
    assert violations == []


def test_the_checker_catches_each_kind_of_import(tmp_path: Path, monkeypatch) -> None:
    """The contract is only as good as its detector: each spelling of the import is caught."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    bad = tmp_path / "datagen" / "bad.py"
    bad.parent.mkdir()
    bad.write_text(
        "import textual.app\nfrom tui.app import DatagenApp\n"
        "def f():\n    import importlib\n    return importlib.import_module('tui')\n",
        encoding="utf-8",
    )
    assert len(_violations(bad)) == 3


def test_importing_the_whole_library_loads_no_textual() -> None:
    """At run time too: every datagen module imports without pulling Textual or the TUI in."""
    code = (
        "import importlib, pkgutil, sys, datagen\n"
        "for m in pkgutil.walk_packages(datagen.__path__, 'datagen.'):\n"
        "    if m.name != 'datagen.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('tui', 'textual'))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
