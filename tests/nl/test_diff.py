"""What a refinement changed, as tables, columns, rows, behaviour and the period."""

from __future__ import annotations

from datagen.nl.diff import schema_diff
from tests.nl.scenarios import turn


def test_no_change_is_an_empty_diff() -> None:
    doc = turn("bookshop")["schema"]
    assert not schema_diff(doc, doc) and schema_diff(doc, doc).lines() == []


def test_tables_columns_rows_and_behaviour_changes_are_listed() -> None:
    old = turn("bookshop")["schema"]

    def edit(s: dict) -> None:
        s["nodes"][0]["rows"] = 3000
        s["nodes"][0]["columns"].append(
            {"name": "country", "type": "string", "generator": {"faker": {"method": "country_code"}}}
        )
        s["nodes"][0]["segment_behavior"] = {
            "segment_column": "segment",
            "behaviors": {"vip": {"fanout_multiplier": 3}},
        }
        s["nodes"][1]["columns"] = [c for c in s["nodes"][1]["columns"] if c["name"] != "amount"]
        s["nodes"][1]["fanout"]["lambda"] = 6
        s["nodes"].append({"id": "refunds", "kind": "fact", "columns": []})
        s["timeframe"]["start"] = "2023-01-01T00:00:00Z"

    diff = schema_diff(old, turn("bookshop", edit)["schema"])
    assert diff.lines() == [
        "+ table refunds",
        "customers: + country, rows 1500 → 3000, + segment_behavior",
        "orders: - amount, ~ fanout",
        "timeframe: 2024-01-01 – 2025-01-01 → 2023-01-01 – 2025-01-01",
    ]
    assert diff.to_dict()["changed"]["orders"]["removed_columns"] == ["amount"]
