"""Clean data of every bundled example validates: exit 0, a high score, and none of the checks this
package defines fails (behaviour-block checks registered by other modules are tested with them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from datagen.dsl import check
from datagen.resources import examples_dir
from tests.validate.helpers import validated, write

EXAMPLES = sorted(examples_dir().glob("*.json"))
BUILT_IN = {
    "columns", "rows", "type", "primary_key", "not_null", "foreign_key",
    "range", "inequality", "pattern", "enum", "unique",
    "null_share", "seasonality", "outliers", "weekend_share", "mean_in_range", "composite_effect",
    "window", "window_end", "grid_alignment", "chain_order", "regular_series",
}  # fmt: skip


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_clean_example_validates(path: Path, tmp_path: Path) -> None:
    import json

    doc = json.loads(path.read_text(encoding="utf-8"))
    write(doc, tmp_path / "data")
    report = validated(doc, tmp_path / "data")
    ours = [r for r in report.failures if r.check in BUILT_IN]
    assert not ours, [f"{r.check} {r.where}: {r.message}" for r in ours]
    assert report.exit_code == 0
    assert report.score >= 90
    kinds = {r.check for r in report.results}
    assert {"primary_key", "not_null", "type"} <= kinds
    assert report.tables.keys() == {n.id for n in check(doc).raise_for_errors().nodes}  # with added tables
