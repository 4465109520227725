"""Types: mypy passes on the packages pyproject.toml configures (the whole of datagen and tui: strict
for datagen.dsl and datagen.engine, the basic checks, untyped bodies included, for the rest). Run
in-process on mypy's incremental cache."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_passes_on_the_configured_packages(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # pyproject.toml's [tool.mypy] names the files and the strictness
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary"])
    assert status == 0, stdout + stderr
