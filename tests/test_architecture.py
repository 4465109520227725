"""Dependencies point one way, layer by layer: dsl → engine → io → validate → nl → cli → tui (each may
import the layers before it, never one after it), with the shared basics (errors, resources, the faker
pool) under all of them. The library never imports the TUI or Textual, so it runs (and is tested)
without a screen; only the `datagen tui` command reaches the TUI, by name, through importlib.

The validator re-derives what the schema declares instead of trusting the engine (docs/contributing.md,
"The validator's independence"); the few engine modules it may use are allow-listed here, per module,
with the reason next to each."""

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


# Layers in dependency order: a module may import its own layer and the layers before it.
LAYERS = (
    ("base", ("datagen.errors", "datagen.resources", "datagen.faker_pool", "datagen")),
    ("dsl", ("datagen.dsl",)),
    ("engine", ("datagen.engine",)),
    ("io", ("datagen.io",)),
    ("validate", ("datagen.validate",)),
    ("nl", ("datagen.nl",)),
    ("cli", ("datagen.cli", "datagen.__main__")),
    ("tui", ("tui",)),
)
# Engine modules a validator module may import, and why (everything else it re-derives from the schema).
VALIDATOR_MAY_USE_ENGINE = {
    # reference samples: the engine makes a column without the part under test; the validator applies
    # the declared part itself (reference.py's docstring), and seeds apart from the data's streams
    "datagen.validate.reference": {"datagen.engine.generate", "datagen.engine.rng"},
    # hidden helper columns (never written) that checks read: regenerated at the data's own seed and scale,
    # and lent only when the table's written columns equal the data's row for row (hidden.py's
    # docstring): inputs of the expectations, while the written values are still what is judged
    "datagen.validate.hidden": {"datagen.engine.generate"},
    # how each declared type is stored in Arrow (the storage format, not a semantic)
    "datagen.validate.context": {"datagen.engine.cast"},
    # row counts: each parent's fanout multiplier, the engine's own, to bound how many rows a table must
    # hold (a guard against lost or added rows); whether the multipliers themselves are right is what the
    # segment, effect, vintage, lifetime, activity and state-rate recoveries re-derive. A rate over a
    # parent's life is integrated by the engine's intensity from the parents' lives and the walk table
    # as the data holds them (and the plan's bounds of the child's time)
    "datagen.validate.row_counts": {
        "datagen.engine.behaviours",
        "datagen.engine.block",
        "datagen.engine.fanout",
        "datagen.engine.intensity",
        "datagen.engine.lifecycle",
        "datagen.engine.plan",
        "datagen.engine.registry",
        "datagen.engine.timegrid",
    },
}


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def layer_of(module: str) -> int | None:
    """Index of the layer a module belongs to (the longest matching prefix), None outside the project."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    return None if best is None else best[0]


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a project module, at any depth of the file (type-checking and
    function-level imports included); `from pkg import sub` names the submodule when it is one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            for a in node.names:
                sub = f"{base}.{a.name}"
                is_module = (root / Path(*sub.split("."))).with_suffix(".py").is_file() or (
                    root / Path(*sub.split(".")) / "__init__.py"
                ).is_file()
                found.append((node.lineno, sub if is_module else base))
    return [(line, m) for line, m in found if m.split(".")[0] in ("datagen", "tui")]


def layer_violations(root: Path) -> list[str]:
    out = []
    for path in sorted([*(root / "datagen").rglob("*.py"), *(root / "tui").rglob("*.py")]):
        module = module_name(path, root)
        here = layer_of(module)
        assert here is not None, module
        for line, target in imported_modules(path, root):
            there = layer_of(target)
            if there is not None and there > here:
                out.append(
                    f"{path.relative_to(root)}:{line} imports {target}: "
                    f"{LAYERS[here][0]} must not depend on {LAYERS[there][0]}"
                )
    return out


def validator_engine_imports(root: Path) -> list[str]:
    out = []
    for path in sorted((root / "datagen" / "validate").rglob("*.py")):
        module = module_name(path, root)
        allowed = VALIDATOR_MAY_USE_ENGINE.get(module, set())
        for line, target in imported_modules(path, root):
            if target.startswith("datagen.engine") and target not in allowed:
                out.append(f"{path.relative_to(root)}:{line} imports {target}")
    return out


def test_layers_depend_only_on_earlier_layers() -> None:
    assert layer_violations(ROOT) == []


def test_the_validator_uses_only_the_allowed_engine_modules() -> None:
    assert validator_engine_imports(ROOT) == []


def test_the_layer_checks_catch_a_lower_layer_importing_a_higher_one(tmp_path: Path) -> None:
    """Each spelling is caught: a plain import, a submodule named in `from pkg import sub`, and an
    import hidden in a function or behind TYPE_CHECKING."""
    (tmp_path / "tui").mkdir()
    (tmp_path / "tui" / "__init__.py").write_text("", encoding="utf-8")
    for pkg in ("dsl", "engine", "validate", "nl"):
        (tmp_path / "datagen" / pkg).mkdir(parents=True)
        (tmp_path / "datagen" / pkg / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "datagen" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "datagen" / "engine" / "plan.py").write_text("", encoding="utf-8")
    (tmp_path / "datagen" / "dsl" / "bad.py").write_text(
        "import datagen.engine.plan\nfrom datagen import nl\n"
        "def f():\n    from datagen.validate import x\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tui import app\n",
        encoding="utf-8",
    )
    (tmp_path / "datagen" / "validate" / "uses.py").write_text(
        "from datagen.engine.plan import make_plan\n", encoding="utf-8"
    )
    assert len(layer_violations(tmp_path)) == 4
    assert validator_engine_imports(tmp_path) == ["datagen/validate/uses.py:1 imports datagen.engine.plan"]


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
