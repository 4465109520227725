"""The eval prompt set and its loader; `datagen eval` itself runs in test_cli.py."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from datagen.errors import InputError
from datagen.nl.model_eval import EvalResult, load_eval_set, summarise
from datagen.resources import ROOT


def test_the_shipped_set_has_twenty_prompts_across_ten_domains() -> None:
    prompts = load_eval_set(ROOT / "evals" / "prompts.yaml")
    assert len(prompts) == 20 and len({p.id for p in prompts}) == 20
    assert sorted(Counter(p.domain for p in prompts).values()) == [2] * 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prompts: []\n", "expected a top-level 'prompts:' list"),
        ("prompts: [{id: a, domain: b}]\n", "needs text fields id, domain and prompt"),
        ("prompts: [{id: a, domain: b, prompt: c}, {id: a, domain: b, prompt: d}]\n", "duplicate id 'a'"),
        ("prompts: [\n", "not valid YAML"),
    ],
)
def test_bad_eval_files_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_eval_set(path)


def test_summary_rates_and_means() -> None:
    results = [
        EvalResult("a", "x", ready=True, first_try_valid=True, generated=True, quality=90.0, requests=1),
        EvalResult("b", "x", ready=True, repairs=2, questions=1, generated=True, quality=70.0, requests=4),
        EvalResult("c", "y", error="refused", requests=1),
    ]
    s = summarise(results)
    assert s["first_try_valid_rate"] == pytest.approx(1 / 3) and s["ready_rate"] == pytest.approx(2 / 3)
    assert s["mean_repairs"] == pytest.approx(2 / 3) and s["mean_quality"] == 80.0 and s["requests"] == 6
