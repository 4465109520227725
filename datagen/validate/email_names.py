"""Emails built from a name (`faker.from`) must show that name: at least `SHARE` of the addresses hold
a part (two letters or more) of their row's name in their user name.

Names are reduced to ASCII letters in SQL the two ways the engine may have spelled them (German
ü→ue, ß→ss, Danish ø→oe, or the plain accent strip é→e, ł→l), so a name counts when either spelling
matches. Names with no Latin letters at all (Chinese, Cyrillic, …) cannot be compared this way in
SQL; they are counted apart and left out of the share. A soft value check: it feeds the score."""

from __future__ import annotations

from collections.abc import Iterator

from datagen.dsl.generators import FakerGen
from datagen.faker_pool.emails import EMAIL_METHODS
from datagen.validate.behaviour import register
from datagen.validate.context import Context, q
from datagen.validate.results import Result, verdict

SHARE = 0.9
CHECK = "email_from_name"
_SPELLED = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"}
# Letters the accent strip leaves alone (they are not a letter plus a mark).
_NOT_DECOMPOSED = {"ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "œ": "oe", "ı": "i", "þ": "th"}


def _replace(expr: str, table: dict[str, str]) -> str:
    for letter, spelled in table.items():
        expr = f"replace({expr}, '{letter}', '{spelled}')"
    return expr


def _tokens(expr: str) -> str:
    """The name's ASCII words of two letters or more."""
    return f"list_filter(regexp_split_to_array({expr}, '[^a-z]+'), lambda w: length(w) >= 2)"


@register(CHECK)
def email_name_checks(ctx: Context) -> Iterator[Result]:
    for node in ctx.schema.nodes:
        for col in node.columns:
            gen = col.generator
            if not isinstance(gen, FakerGen) or gen.faker.method not in EMAIL_METHODS:
                continue
            sources = gen.faker.sources
            if not sources:
                continue
            if all(ctx.has(node.id, c) for c in (col.name, *sources)):
                yield ctx.attempt(
                    CHECK, "value", node.id, col.name, email_from_name, ctx, node.id, col.name, sources
                )


def email_from_name(ctx: Context, table: str, column: str, sources: list[str]) -> Result:
    name = " || ' ' || ".join(f"coalesce({q(s)}, '')" for s in sources)
    lowered = f"lower({name})"
    spelled = _tokens(f"strip_accents({_replace(lowered, _SPELLED)})")
    plain = _tokens(f"strip_accents({_replace(lowered, _NOT_DECOMPOSED)})")
    local = f"lower(split_part({q(column)}, '@', 1))"
    rows = (
        f"SELECT {local} AS local, {spelled} AS spelled, {plain} AS plain, {name} AS name, "
        f"{q(column)} AS email FROM {q(table)} WHERE {q(column)} IS NOT NULL"
    )
    hit = (
        "(list_bool_or(list_transform(spelled, lambda w: contains(local, w))) "
        "OR list_bool_or(list_transform(plain, lambda w: contains(local, w))))"
    )
    readable = "len(plain) > 0"
    n, unreadable, matched = ctx.one(
        f"SELECT count(*), count(*) FILTER (WHERE NOT {readable}), "
        f"count(*) FILTER (WHERE {readable} AND coalesce({hit}, false)) FROM ({rows})"
    )
    checked = n - unreadable
    what = f"from {' + '.join(sources)}"
    if checked == 0:
        reason = "no rows" if n == 0 else f"none of the {n:,} names has Latin letters to compare"
        return Result(CHECK, "value", table, column, "skip", f"emails {what}: {reason}")
    share = matched / checked
    ok = share >= SHARE
    examples = []
    if not ok:
        examples = ctx.examples(
            f"SELECT email AS {q(column)}, name AS {q(' + '.join(sources))} FROM ({rows}) "
            f"WHERE {readable} AND NOT coalesce({hit}, false)"
        )
    apart = f"; {unreadable:,} names without Latin letters not compared" if unreadable else ""
    return Result(
        CHECK,
        "value",
        table,
        column,
        verdict(ok),
        f"{share:.1%} of {checked:,} emails hold part of their row's name ({what}; expected >= {SHARE:.0%})"
        + apart,
        examples=examples,
        details={"share": share, "expected": SHARE, "rows": checked, "not_compared": unreadable},
        fix=None if ok else "regenerate from the schema: the engine builds these addresses from the name",
    )
