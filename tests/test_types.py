"""Types: mypy passes on the packages pyproject.toml configures (the whole of datagen and tui: strict
for datagen.dsl and datagen.engine, the basic checks, untyped bodies included, for the rest), on mypy's
incremental cache. In a process of its own: mypy's command exits without freeing what it built, a
third of a cold run's time, and the test worker does not keep that memory for the tests after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.long  # a cold check is the suite's longest test
def test_mypy_passes_on_the_configured_packages() -> None:
    run = subprocess.run(  # pyproject.toml's [tool.mypy] names the files and the strictness
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
