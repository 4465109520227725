"""The model's instructions: shipped files that exist, slots that fill, a cheat sheet generated from the
models that names every generator, modifier and distribution, and few-shot examples that really work."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from datagen.cli import app
from datagen.dsl import check
from datagen.dsl.behaviours import Activity, distribution_mean
from datagen.dsl.freq import freq_problem, normalise_freq
from datagen.dsl.generators import DISTRIBUTION_PARAMS, GENERATOR_MODELS
from datagen.dsl.modifiers import MODIFIER_NAMES
from datagen.engine.preflight import preflight
from datagen.errors import DatagenError
from datagen.nl.cheatsheet import IDIOMS, cheatsheet
from datagen.nl.prompts import TEXTS, fill, load_prompts
from datagen.resources import ROOT, prompts_dir
from tests.dsl.test_language_reference import MODELS as REFERENCE_MODELS


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


def test_every_fragment_of_the_cheatsheet_is_accepted_by_its_model() -> None:
    """Each coherent-world line ends in a JSON fragment; the model may copy it verbatim, so each one, as
    printed, must be valid for the model its line names (the same models the language reference
    checks its fragments with)."""
    text = cheatsheet()
    printed = re.findall(r"^- .*: `(\{.*\})`$", text.split("## A coherent world")[1], re.M)
    assert len(printed) == len(IDIOMS)
    for fragment, idiom in zip(printed, IDIOMS, strict=True):
        model = REFERENCE_MODELS[idiom.kind]
        validate = model.validate_python if isinstance(model, TypeAdapter) else model.model_validate
        validate(json.loads(fragment))


def test_cheatsheet_teaches_every_coherent_world_feature() -> None:
    text = cheatsheet().split("## A coherent world")[1]
    for keyword in (
        '"decimals"',
        "price_point",
        '"from": "full_name"',
        "lifetime",
        "activity",
        "active_in",
        '"state_at"',
        '"rollup"',
        '"running"',
        '"pick": "random"',
        '"every"',
        '"count"',
        '"where"',
        '"within"',
        '"snap"',
        '"touches"',
        '"output": false',
    ):
        assert keyword in text, keyword


def _readme_token_budget() -> int:
    match = re.search(r"system prompt stays under ([\d,]+) tokens", (ROOT / "README.md").read_text())
    assert match, "README must state the system prompt's token budget"
    return int(match.group(1).replace(",", ""))


def test_system_prompt_fits_its_token_budget() -> None:
    """The system prompt goes with every request of a turn (the proposal and each repair), so its size
    is paid many times over and must leave room in a small context: under 9,000 tokens it leaves
    7,000 of a 16k-context local model for the request, the current schema and the reply. Counted
    without a tokenizer download: every word and every punctuation mark is one token, which
    over-counts OpenAI's cl100k_base on this text (README gives both figures); the README states
    the budget and this test holds the prompt to it."""
    system = load_prompts().system(date(2025, 3, 14))
    tokens = len(re.findall(r"\w+|[^\w\s]", system))
    assert tokens < _readme_token_budget() == 9000


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
def test_few_shot_examples_check_generate_and_validate(shot, tmp_path) -> None:
    """What the model imitates must be clean: no checker warning, and a small generation that
    `datagen validate` passes with exit 0."""
    result = check(shot.turn["schema"])
    assert result.ok and not result.warnings, [str(i) for i in result.errors + result.warnings]
    assert preflight(result.schema, rows=30).ok
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(shot.turn["schema"]), encoding="utf-8")
    run = CliRunner().invoke(app, ["generate", str(schema), "-o", str(tmp_path / "data"), "--scale", "0.1"])
    assert run.exit_code == 0, run.output
    run = CliRunner().invoke(app, ["validate", str(schema), "--data-dir", str(tmp_path / "data")])
    assert run.exit_code == 0, run.output


def test_few_shot_examples_show_the_coherent_world() -> None:
    """The examples carry the idioms a real dataset uses, so the model reaches for them unprompted:
    money with decimals, a price point, emails built from the name, children inside their parent's
    life, heavy and light users, a current status from the walk, a total that is the sum of its lines,
    a scoped lookup, a regular series, a chain that only some parents have, attribution of purchases
    to the touches before them, segments and a weekly pattern."""
    text = "".join(json.dumps(shot.turn["schema"]) for shot in load_prompts().examples)
    for idiom in (
        '"decimals": 2',
        '"transform": "price_point"',
        '"method": "email", "from": "full_name"',
        '"lifetime": {"start"',
        '"activity": {"distribution"',
        '"active_in": {"walk"',
        '"state_at": {"walk"',
        '"rollup": {"from": "order_lines.line_total", "agg": "sum"}',
        '"pick": "random"',
        '"fanout": {"every"',
        '"where": "status ==',
        '"attribution": {"touches"',
        '"segment_behavior"',
        '"dimension": "dow"',
    ):
        assert idiom in text, idiom
    for shot in load_prompts().examples:
        assert len(json.dumps(shot.turn)) < 6000, shot.name  # compact: every char is paid on every request


def test_every_frequency_the_cheatsheet_names_is_accepted() -> None:
    """The aliases and words the model is shown for `freq` and `every` all check: a current alias as
    written, a word read as one."""
    line = next(ln for ln in cheatsheet().splitlines() if ln.startswith("- `freq`, `every`:"))
    shown = re.findall(r'"([^"]+)"', line)
    assert {"10min", "h", "D", "W", "MS", "YS", "hourly", "every 15 minutes"} <= set(shown)
    for freq in shown:
        alias, _ = normalise_freq(freq)
        assert freq_problem(alias) is None, freq


def test_the_activity_example_has_the_mean_it_claims() -> None:
    """The idiom says its level averages 2 × 0.5 = 1; the few-shot example uses the same distribution."""
    idiom = next(i for i in IDIOMS if i.kind == "activity")
    activity = Activity.model_validate(idiom.fragment)
    assert distribution_mean(activity.distribution) == 1 and "2 × 0.5 = 1" in idiom.say
    shots = [s.turn["schema"] for s in load_prompts().examples]
    used = [n["activity"] for s in shots for n in s["nodes"] if "activity" in n]
    assert used and all(Activity.model_validate(a) == activity for a in used)
