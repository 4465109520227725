"""The model's instructions: shipped files that exist, slots that fill, a cheat sheet generated from the
models that names every generator, modifier and distribution, and few-shot examples that really work."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from datagen.dsl import check
from datagen.dsl.generators import DISTRIBUTION_PARAMS, GENERATOR_MODELS
from datagen.dsl.modifiers import MODIFIER_NAMES
from datagen.engine.preflight import preflight
from datagen.errors import DatagenError
from datagen.nl.cheatsheet import cheatsheet
from datagen.nl.prompts import TEXTS, fill, load_prompts
from datagen.resources import ROOT, prompts_dir


def test_prompts_dir_resolves_to_the_shipped_files() -> None:
    folder = prompts_dir()
    assert folder == ROOT / "prompts"
    for name in TEXTS:
        assert (folder / f"{name}.md").is_file(), name
    assert len(list((folder / "fewshot").glob("*.json"))) == 2


def test_the_packaged_copy_is_the_same_folder() -> None:
    """Wheels ship datagen/resources/prompts (package data); in a checkout it links to prompts/."""
    packaged = ROOT / "datagen" / "resources" / "prompts"
    assert packaged.resolve() == (ROOT / "prompts").resolve()
    assert sorted(p.name for p in packaged.iterdir()) == sorted(p.name for p in (ROOT / "prompts").iterdir())


def test_cheatsheet_names_every_generator_modifier_and_distribution() -> None:
    text = cheatsheet()
    for name in GENERATOR_MODELS:
        assert re.search(rf"^- {name}: \{{", text, re.M), name
    for name in MODIFIER_NAMES:
        assert re.search(rf"^- {name}: \{{", text, re.M), name
    for kind, (required, optional) in DISTRIBUTION_PARAMS.items():
        assert f"{kind} {{{', '.join(required + optional)}}}" in text, kind
    for block, kinds in {
        "SegmentBehavior": "entities",
        "VintageBehavior": "entities",
        "StageConfig": "facts",
        "StateTransitionModel": "facts",
    }.items():
        assert f"- {block}: ({kinds} only) {{" in text  # where a block may sit, from its descriptor


def test_cheatsheet_is_compact() -> None:
    assert len(cheatsheet()) < 8000  # the JSON Schema of the DSL is over 30 kB


def test_system_prompt_has_every_slot_filled() -> None:
    system = load_prompts().system(date(2025, 3, 14))
    assert "<<" not in system and ">>" not in system
    assert cheatsheet().strip() in system
    assert "Request: An online shop's customers" in system
    assert 'Today is Friday 2025-03-14: "the last 18 months" ends today.' in system


def test_every_prompt_text_fills_with_its_slots_and_none_is_left_over() -> None:
    prompts = load_prompts()
    for name in TEXTS:
        slots = set(re.findall(r"<<([A-Z_]+)>>", prompts.texts[name]))
        if name == "system":
            continue
        text = prompts.text(name, **{slot.lower(): f"[{slot}]" for slot in slots})
        assert "<<" not in text and all(f"[{slot}]" in text for slot in slots), name


def test_fill_does_not_read_inserted_text_as_a_template() -> None:
    assert fill("a <<X>> b", x="<<Y>> {{ z }}") == "a <<Y>> {{ z }} b"
    with pytest.raises(DatagenError):
        fill("<<MISSING>>")


@pytest.mark.parametrize("shot", load_prompts().examples, ids=lambda s: s.name)
def test_few_shot_examples_check_generate_and_come_from_an_example(shot) -> None:
    result = check(shot.turn["schema"])
    assert result.ok, [str(i) for i in result.errors]
    assert preflight(result.schema, rows=30).ok
    source = json.loads((prompts_dir() / "fewshot" / f"{shot.name}.json").read_text())["source"]
    example = json.loads((ROOT / source).read_text())
    blocks = ("segment_behavior", "vintage_behavior", "stage_config", "state_transition_model")

    def used(doc: dict) -> set[str]:
        return {key for node in doc["nodes"] for key in blocks if key in node}

    assert used(shot.turn["schema"]) and used(shot.turn["schema"]) <= used(example)
    assert len(json.dumps(shot.turn)) < len(json.dumps(example)) / 2  # compact
