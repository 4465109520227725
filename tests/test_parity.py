"""Parity: every feature of the language (datagen.dsl.features: each generator, modifier, behaviour
block and target kind) is implemented by the engine (or says why not), held to its declaration by the
validator (or says why not), checked by the check step, listed in the cheat sheet the model reads and
phrased in the TUI outline (in the schema's terms and in plain words). A new model that misses one
of them fails here, saying what to add where."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from datagen.dsl.base import Role
from datagen.dsl.checks.behaviours import BEHAVIOUR_CHECKS
from datagen.dsl.checks.columns import GENERATOR_CHECKS
from datagen.dsl.checks.targets import TARGET_CHECKS
from datagen.dsl.features import BEHAVIOURS, FAMILIES, FEATURES, GENERATORS, MODIFIERS, TARGETS
from datagen.dsl.models import Column
from datagen.dsl.modifiers import ModifierModel, MultiplyArgs
from datagen.engine import registry
from datagen.nl.cheatsheet import cheatsheet
from datagen.validate import behaviour
from datagen.validate.treatments import BUCKETS, TREATMENTS
from tui.outline import PHRASES, Phrase

ENGINE = {**registry.GENERATORS, **registry.MODIFIERS, **registry.BEHAVIOURS}
CHECKER = {**GENERATOR_CHECKS, **BEHAVIOUR_CHECKS, **TARGET_CHECKS}  # modifiers: read from descriptors


def family(feature: type) -> str:
    return next(name for name, members in FAMILIES.items() if feature in members)


def missing(features: tuple[type, ...]) -> list[str]:
    """What each feature lacks, one line per gap, naming the place to fill."""
    behaviour._load()
    known_checks = {*behaviour.REGISTRY, *BUCKETS}
    text = cheatsheet()
    out = []
    for f in features:
        kind = family(f) if any(f in m for m in FAMILIES.values()) else "feature"
        name = f"{f.__name__} ({kind} '{f.keyword}')"
        if f not in ENGINE and not registry.NOT_GENERATED.get(f):
            out.append(f"{name}: no engine implementation (datagen/engine/registry.py), nor a reason")
        treatment = TREATMENTS.get(f)
        if treatment is None or not (treatment.checks or treatment.why_none):
            out.append(f"{name}: no validator treatment (datagen/validate/treatments.py), nor a reason")
        elif unknown := [c for c in treatment.checks if c not in known_checks]:
            out.append(f"{name}: its treatment names unknown checks {unknown} (validate/behaviour.py)")
        if not issubclass(f, ModifierModel) and f not in CHECKER:
            out.append(f"{name}: no check in the check step (datagen/dsl/checks/)")
        if not re.search(rf"^- ({re.escape(f.keyword)}|{f.__name__}): ", text, re.M):
            out.append(f"{name}: no cheat-sheet entry (datagen/nl/cheatsheet.py)")
        if not isinstance(PHRASES.get(f), Phrase):
            out.append(f"{name}: no TUI outline phrase (tui/outline.py PHRASES: Phrase(technical, plain))")
    return out


def test_every_feature_is_implemented_treated_checked_listed_and_phrased() -> None:
    assert missing(FEATURES) == []


def test_the_language_lists_every_family() -> None:
    assert (len(GENERATORS), len(MODIFIERS), len(BEHAVIOURS), len(TARGETS)) == (11, 11, 8, 3)
    assert len({f.keyword for f in FEATURES}) == len(FEATURES)


def test_no_registry_holds_what_the_language_does_not_have() -> None:
    for table in (ENGINE, registry.NOT_GENERATED, TREATMENTS, CHECKER, PHRASES):
        assert set(table) <= set(FEATURES)


class Double(ModifierModel):
    """A modifier nobody implemented yet: the parity check must name every gap."""

    column_types: ClassVar = ("int", "float")
    transform: Literal["double"]
    args: MultiplyArgs

    def role(self, column: Column) -> Role:
        return Role.SCALES


def test_a_new_feature_without_implementations_is_named_with_what_it_lacks() -> None:
    gaps = missing((Double,))
    assert [g.split(": ")[1].split(" (")[0] for g in gaps] == [
        "no engine implementation",
        "no validator treatment",
        "no cheat-sheet entry",
        "no TUI outline phrase",
    ]
    assert all(g.startswith("Double (feature 'double')") for g in gaps)


def test_an_outline_phrase_without_plain_words_is_a_gap(monkeypatch) -> None:
    """A bare technical phrase (the form before plain words) is not enough: the app shows plain first."""
    feature = next(iter(PHRASES))
    monkeypatch.setitem(PHRASES, feature, PHRASES[feature].technical)
    assert [g.split(": ", 1)[1] for g in missing((feature,))] == [
        "no TUI outline phrase (tui/outline.py PHRASES: Phrase(technical, plain))"
    ]
