"""The DSL as a JSON Schema (draft 2020-12) for editors: completion, hover docs, red squiggles.

It is derived from the models, so it never drifts; it is a little looser than `datagen check` (cross
references, parameter names per distribution type), never stricter."""

from __future__ import annotations

from typing import Any

from datagen.dsl.models import Schema

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://datagen.dev/schema/dsl-v1.json"


def _widen_one_or_many(node: Any) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for name, prop in list(props.items()):
                if isinstance(prop, dict) and prop.pop("x-one-or-many", False):
                    items = prop.get("items", {})
                    keep = {k: v for k, v in prop.items() if k in ("default", "title", "description")}
                    props[name] = {**keep, "anyOf": [items, {"type": "array", "items": items}]}
        for value in node.values():
            _widen_one_or_many(value)
    elif isinstance(node, list):
        for value in node:
            _widen_one_or_many(value)


def dsl_json_schema() -> dict[str, Any]:
    body = Schema.model_json_schema(by_alias=True, mode="validation")
    _widen_one_or_many(body)
    body["title"] = "Datagen schema (DSL v1)"
    body["description"] = (
        "A dataset: tables, columns and how each value is generated. "
        "Reference: docs/schema-language.md in the Datagen repository."
    )
    return {"$schema": DIALECT, "$id": SCHEMA_ID, **body}
