"""Every feature of the language, by family: the list the engine, the validator, the cheat sheet and the
TUI outline each cover (the parity test holds them to it). Derived from the models themselves, so a
new generator, modifier, behaviour block or target kind is listed as soon as its model joins the
schema."""

from __future__ import annotations

from typing import get_args

from datagen.dsl.base import Feature
from datagen.dsl.behaviours import BehaviourBlock
from datagen.dsl.generators import GENERATOR_MODELS, GeneratorModel
from datagen.dsl.models import BEHAVIOUR_FIELDS, Node
from datagen.dsl.modifiers import MODIFIER_MODELS, ModifierModel
from datagen.dsl.targets import TargetModel, Targets


def _field_models(owner: type, names: tuple[str, ...] | None = None) -> list[type]:
    """The model types of `owner`'s fields (`X | None` or `list[X]`), in field order."""
    out: list[type] = []
    for name, field in owner.model_fields.items():  # type: ignore[attr-defined]
        if names is not None and name not in names:
            continue
        args = get_args(field.annotation) or (field.annotation,)
        out += [a for a in args if isinstance(a, type) and issubclass(a, Feature)]
    return out


GENERATORS: tuple[type[GeneratorModel], ...] = tuple(GENERATOR_MODELS.values())
MODIFIERS: tuple[type[ModifierModel], ...] = MODIFIER_MODELS
BEHAVIOURS: tuple[type[BehaviourBlock], ...] = tuple(_field_models(Node, BEHAVIOUR_FIELDS))
TARGETS: tuple[type[TargetModel], ...] = tuple(_field_models(Targets))
FEATURES: tuple[type[Feature], ...] = (*GENERATORS, *MODIFIERS, *BEHAVIOURS, *TARGETS)

FAMILIES: dict[str, tuple[type[Feature], ...]] = {
    "generator": GENERATORS,
    "modifier": MODIFIERS,
    "behaviour block": BEHAVIOURS,
    "target": TARGETS,
}


def influence_names() -> tuple[str, ...]:
    """The fixed names a composite_effect target may give an influence (besides an effect table's id,
    which names the influence of that table's effects), in the order features are listed."""
    names = [n for f in MODIFIERS for n in f.influences] + [n for f in BEHAVIOURS for n in f.influences]
    return tuple(dict.fromkeys(names))
