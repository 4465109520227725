"""Each reading of an older shape (datagen/dsl/legacy.py, docs/schema-language.md §11) on its own: what
it becomes, the note it leaves, and where it cannot tell what was meant, the error it leaves instead.
Also the checks that say what a schema declares but nothing reads, `datagen upgrade`'s file safety,
a modifier reading its parent row's time, an effect's default, and rows counted per stratum."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from datagen.cli import app
from datagen.dsl import check
from datagen.engine.generate import Options, generate_in_memory
from tests.validate.helpers import validated, write

LEGACY = Path(__file__).parent / "legacy"
runner = CliRunner()


def corpus(name: str) -> dict[str, Any]:
    return json.loads((LEGACY / f"{name}.json").read_text(encoding="utf-8"))


def notes(doc: dict[str, Any], code: str) -> dict[str, str]:
    return {n.path: n.message for n in check(doc).legacy_notes if n.code == code}


def test_the_callers_document_is_never_changed() -> None:
    doc = corpus("v1_shop")
    before = copy.deepcopy(doc)
    assert check(doc).ok
    assert doc == before


def test_segments_keyed_by_value_find_their_column_and_keep_the_authors_numbers() -> None:
    result = check(corpus("prd_segments"))
    sb = result.document["nodes"][0]["segment_behavior"]
    assert sb == {
        "segment_column": "segment",
        "behaviors": {
            "vip": {"fanout_multiplier": 3.5, "value_multiplier": 5.0},
            "budget": {"fanout_multiplier": 0.5, "value_multiplier": 0.6},
        },
    }
    said = {n.code: n.message for n in result.legacy_notes}
    assert "segment column 'segment'" in said["legacy_segment_column"]
    # the value multipliers name no column: said, not guessed
    assert [w.code for w in result.warnings] == ["value_multiplier_unused"]


@pytest.mark.parametrize(
    ("choices", "why"),
    [
        ({"tier": ["gold", "silver"]}, "no column of 'customers' draws the values vip, budget"),
        ({"a": ["vip", "budget"], "b": ["vip", "budget", "x"]}, "several columns of 'customers' draw these"),
    ],
    ids=["none", "several"],
)
def test_a_segment_column_that_cannot_be_told_is_an_error_naming_the_fix(choices: dict, why: str) -> None:
    doc = corpus("prd_segments")
    doc["nodes"][0]["columns"][1:] = [
        {"name": n, "type": "string", "generator": {"choice": {"choices": v}}} for n, v in choices.items()
    ]
    result = check(doc)
    [error] = [e for e in result.errors if e.code == "legacy_segment_column"]
    assert why in error.message and 'name it in "segment_column"' in error.message


def test_a_segments_block_drops_base_probability_and_says_v1_ignored_it() -> None:
    result = check(corpus("segments_block"))
    sb = result.document["nodes"][0]["segment_behavior"]
    assert sb["segment_column"] == "tier" and "segments" not in sb
    assert sb["behaviors"]["gold"] == {"fanout_multiplier": 2.0, "value_multiplier": 1.5}
    [note] = [n.message for n in result.legacy_notes if n.code == "legacy_base_probability"]
    assert "gold: 0.2, silver: 0.3, bronze: 0.5" in note and "v1 ignored them" in note


def test_sigma_of_a_normal_is_its_std_and_the_note_says_v1_drew_with_std_1() -> None:
    result = check(corpus("normal_sigma"))
    col = result.document["nodes"][0]["columns"][2]
    assert col["generator"]["distribution"]["params"] == {"mean": 12, "std": 3}
    assert col["modifiers"][0]["args"]["magnitude_dist"]["params"] == {"mean": 3, "std": 0.5}
    said = notes(corpus("normal_sigma"), "legacy_sigma")
    assert len(said) == 2 and all("v1 ignored it and drew with std 1" in m for m in said.values())
    values = generate_in_memory(result.raise_for_errors(), Options(seed=3))["shipments"]["weight_kg"]
    q1, q3 = np.percentile(values.to_numpy(), [25, 75])  # robust to the outliers' spikes
    assert (q3 - q1) / 1.349 == pytest.approx(3, rel=0.1)  # the author's std, not 1


def test_a_lognormal_sigma_is_left_alone() -> None:
    assert notes(corpus("segments_block"), "legacy_sigma") == {}


@pytest.mark.parametrize(
    ("freq", "alias"),
    [("Minutes", "min"), ("15 minutes", "15min"), ("Hourly", "h"), ("Daily", "D"), ("weeks", "W"),
     ("Monthly", "MS"), ("Quarterly", "QS"), ("Yearly", "YS"), ("H", "h"), ("T", "min")],
)  # fmt: skip
def test_frequency_words_are_read_as_aliases(freq: str, alias: str) -> None:
    doc = corpus("freq_words")
    doc["timeframe"]["freq"] = freq
    result = check(doc)
    assert result.ok and result.document["timeframe"]["freq"] == alias
    assert "timeframe.freq" in {n.path for n in result.legacy_notes}


def test_faker_spellings_become_method_locale_and_args() -> None:
    cols = check(corpus("faker_spellings")).document["nodes"][0]["columns"]
    assert cols[1]["generator"] == {"faker": {"method": "name"}}
    assert cols[2]["generator"]["faker"] == {"method": "company", "locale": "de_DE"}
    assert cols[3]["generator"]["faker"] == {"method": "city", "locale": "fr_FR"}
    assert cols[4]["generator"]["faker"] == {"method": "text", "args": {"max_nb_chars": 60}}


def test_a_misspelt_faker_key_is_still_reported_not_moved_into_args() -> None:
    doc = corpus("faker_spellings")
    doc["nodes"][0]["columns"][2]["generator"]["faker"] = {"method": "company", "local": "de_DE"}
    messages = [e.message for e in check(doc).errors]
    assert any("unknown key 'local' (did you mean 'locale'?)" in m for m in messages)


def test_lookup_this_key_is_the_join_it_names() -> None:
    cols = check(corpus("lookup_this_key")).document["nodes"][1]["columns"]
    assert cols[2]["generator"]["lookup"]["on"] == {"product_id": "product_id"}
    assert cols[3]["generator"]["lookup"]["on"] == {"product_id": "product_id"}


def test_a_bare_vintage_column_is_read_in_the_child_that_has_it() -> None:
    curves = check(corpus("vintage_bare_column")).document["nodes"][0]["vintage_behavior"][
        "age_based_multipliers"
    ]
    assert curves["spend"]["applies_to"] == ["purchases.basket"]
    assert curves["tips"]["applies_to"] == ["purchases.tip"]
    assert curves["activity"]["applies_to"] == "fanout"


def test_influence_objects_become_names_and_their_weights_are_compared_with_the_schemas() -> None:
    result = check(corpus("influence_objects"))
    assert result.document["targets"]["composite_effect"]["influences"] == ["dow", "promos", "outliers"]
    said = notes(corpus("influence_objects"), "legacy_influence")
    assert "those of the metric's own seasonality" in said["targets.composite_effect.influences[0]"]
    doc = corpus("influence_objects")
    doc["targets"]["composite_effect"]["influences"][0]["weights"] = [1, 1, 1, 1, 1, 3, 3]
    said = notes(doc, "legacy_influence")
    assert "its weights are not read" in said["targets.composite_effect.influences[0]"]


def test_a_count_word_metric_is_rows_but_a_misspelt_column_stays_an_error() -> None:
    assert check(corpus("volume_metric")).document["targets"]["composite_effect"]["metric"] == "rows"
    doc = corpus("influence_objects")
    doc["targets"]["composite_effect"]["metric"] = "revenu"
    assert any(e.path.endswith("metric") for e in check(doc).errors)


def test_targets_as_a_list_of_typed_objects_are_grouped_by_kind() -> None:
    targets = check(corpus("targets_list")).document["targets"]
    assert set(targets) == {"weekend_share", "mean_in_range"}
    assert targets["mean_in_range"] == [{"table": "rides", "column": "fare", "min": 14, "max": 16}]


def test_a_vocab_without_lists_is_an_entity_and_one_with_lists_stays_a_vocab() -> None:
    assert check(corpus("vocab_as_entity")).document["nodes"][0]["kind"] == "entity"
    doc = corpus("vocab_as_entity")
    doc["nodes"][0]["columns"] = [
        {"name": "warehouse_id", "type": "int", "generator": {"enum_list": {"values": [1, 2]}}}
    ]
    assert check(doc).document["nodes"][0]["kind"] == "vocab"


def test_numeric_modifiers_on_a_datetime_are_dropped_and_the_rest_kept() -> None:
    col = check(corpus("wrong_type_modifiers")).document["nodes"][1]["columns"][1]
    assert [m["transform"] for m in col["modifiers"]] == ["time_jitter"]


def test_a_table_effect_key_the_parent_lacks_is_dropped_so_it_matches_every_row() -> None:
    doc = check(corpus("table_effect_key")).document
    assert doc["nodes"][2]["modifiers"][0]["args"]["on"] == {}
    said = notes(corpus("table_effect_key"), "legacy_effect_key")
    assert "v1 skipped the key" in next(iter(said.values()))


def test_no_constraints_block_is_an_empty_one() -> None:
    doc = corpus("prd_segments")
    assert "constraints" not in doc
    assert check(doc).document["constraints"] == {}


# --- a modifier reading its parent row's time -------------------------------------------------------
def test_item_seasonality_follows_the_orders_month() -> None:
    result = check(corpus("parent_time"))
    mods = result.document["nodes"][2]["columns"][2]["modifiers"]
    assert mods[0]["args"]["time_column"] == "orders.ordered_at"
    tables = generate_in_memory(result.raise_for_errors(), Options(seed=5))
    items = tables["order_items"].to_pandas().merge(tables["orders"].to_pandas(), on="order_id")
    by_month = items.groupby(items["ordered_at"].dt.month)["quantity"].mean()
    assert by_month[12] / by_month[1] == pytest.approx(1.6 / 0.8, rel=0.08)


def test_a_time_from_a_table_that_is_not_a_parent_is_an_error() -> None:
    doc = check(corpus("parent_time")).document
    doc["nodes"][2]["columns"][2]["modifiers"][0]["args"]["time_column"] = "promos.starts_at"
    [error] = check(doc).errors
    assert error.code == "time_not_parent" and "must be a parent's" in error.message


def test_without_a_time_here_or_in_the_parent_the_modifier_is_an_error() -> None:
    doc = corpus("parent_time")
    del doc["nodes"][1]["columns"][1]
    doc["nodes"][2]["columns"][3]["modifiers"] = []
    [error] = check(doc).errors
    assert error.code == "no_time_column" and "'order_items' has no datetime column" in error.message


# --- an effect's default follows its op -------------------------------------------------------------
def test_an_add_effect_without_default_leaves_rows_outside_the_windows_as_they_are() -> None:
    doc = corpus("v1_iot")
    checked = check(doc)
    assert any(n.code == "effect_default" for n in checked.notes)
    tables = generate_in_memory(checked.raise_for_errors(), Options(seed=2))
    readings = tables["readings"].to_pandas()
    windows = tables["maintenance"].to_pandas()
    inside = np.zeros(len(readings), dtype=bool)
    for _, w in windows.iterrows():
        inside |= (readings["read_at"] >= w["from_at"]) & (readings["read_at"] < w["to_at"])
    assert readings.loc[~inside, "voltage"].mean() == pytest.approx(12, abs=0.05)  # + 0, not + 1
    assert readings.loc[inside, "voltage"].mean() < 11


# --- what the checker says nothing reads ------------------------------------------------------------
def _warned(doc: dict[str, Any]) -> dict[str, str]:
    return {w.code: w.message for w in check(doc).warnings}


def test_fanout_keys_nothing_reads_are_warned_about() -> None:
    doc = corpus("segments_list")
    doc["nodes"][1]["fanout"] = {"distribution": "poisson", "lambda": 3, "dispersion": 2}
    assert "dispersion is ignored by a poisson fanout" in _warned(doc)["ignored_key"]
    doc["nodes"][1]["fanout"] = {"distribution": "uniform", "min": 1, "max": 3, "lambda": 2}
    assert "lambda is ignored by a uniform fanout" in _warned(doc)["ignored_key"]


def test_a_table_effect_on_a_fact_without_fanout_is_warned_about() -> None:
    doc = corpus("table_effect_key")
    del doc["nodes"][2]["fanout"]
    assert "does nothing" in _warned(doc)["ignored_effect"]


def test_fanout_on_a_walked_fact_is_warned_about() -> None:
    doc = corpus("segments_list")
    doc["nodes"][1]["columns"].append(
        {"name": "stage_name", "type": "string", "generator": {"choice": {"choices": ["a"]}}}
    )
    doc["nodes"][1]["stage_config"] = {"stages": [{"stage_name": "a", "transition_rate": 1.0}]}
    assert "fanout is ignored" in _warned(doc)["ignored_fanout"]


# --- rows counted per stratum -----------------------------------------------------------------------
def test_rows_per_hour_fail_when_the_data_does_not_follow_the_declared_weights(tmp_path: Path) -> None:
    doc = check(corpus("volume_metric")).document
    write(doc, tmp_path / "data")
    flat = copy.deepcopy(doc)  # the same data read against a schema whose hours are all alike
    del flat["nodes"][0]["columns"][1]["generator"]["datetime_series"]["pattern"]
    [ok] = [r for r in validated(doc, tmp_path / "data").results if r.check == "composite_effect"]
    [bad] = [r for r in validated(flat, tmp_path / "data").results if r.check == "composite_effect"]
    assert ok.status == "pass" and bad.status == "fail"
    assert "rows per stratum of hour" in bad.message


# --- datagen upgrade ----------------------------------------------------------------------------------
def test_upgrade_prints_the_schema_and_its_changes_without_writing(tmp_path: Path) -> None:
    source = tmp_path / "old.json"
    source.write_text(json.dumps(corpus("prd_segments")), encoding="utf-8")
    result = runner.invoke(app, ["upgrade", str(source)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["constraints"] == {}
    assert "note nodes[0].segment_behavior" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]


def test_upgrade_refuses_to_replace_its_input_unless_asked(tmp_path: Path) -> None:
    source = tmp_path / "old.json"
    text = json.dumps(corpus("prd_segments"))
    source.write_text(text, encoding="utf-8")
    refused = runner.invoke(app, ["upgrade", str(source), "-o", str(source)])
    assert refused.exit_code == 2 and "--in-place" in refused.stderr
    assert source.read_text(encoding="utf-8") == text
    done = runner.invoke(app, ["upgrade", str(source), "-o", str(source), "--in-place"])
    assert done.exit_code == 0 and check(json.loads(source.read_text(encoding="utf-8"))).legacy_notes == []


def test_upgrade_with_errors_left_exits_2_lists_them_and_writes_nothing(tmp_path: Path) -> None:
    doc = corpus("prd_segments")
    doc["nodes"][0]["columns"][1]["generator"]["choice"]["choices"] = ["gold", "silver"]
    source, target = tmp_path / "old.json", tmp_path / "new.json"
    source.write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(app, ["upgrade", str(source), "-o", str(target)])
    assert result.exit_code == 2
    assert "which column holds the segments?" in result.stderr and "still need a person" in result.stderr
    assert not target.exists()


def test_upgrade_of_a_current_schema_changes_nothing_but_formatting(tmp_path: Path) -> None:
    source = Path(__file__).parents[2] / "examples" / "segments.json"
    result = runner.invoke(app, ["upgrade", str(source), "-o", str(tmp_path / "same.json")])
    assert result.exit_code == 0 and "(0 change(s))" in result.stderr
    assert json.loads((tmp_path / "same.json").read_text(encoding="utf-8")) == json.loads(
        source.read_text("utf-8")
    )
