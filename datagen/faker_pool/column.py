"""One faker column of one block: picks the way its values are made (composed names, emails built
from names, per-locale pools, unique pools) from the generator's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from datagen.faker_pool import emails, names, pools


@dataclass(frozen=True)
class FakerColumn:
    """A faker generator's settings, resolved: `locale` is a faker locale (the fixed one, or the
    fallback for `locale_codes` rows faker cannot map)."""

    method: str
    args: Mapping[str, object] | None
    locale: str
    seed: int
    unique: bool = False
    pool_cap: int = pools.UNIQUE_POOL_CAP


def faker_values(
    spec: FakerColumn,
    rng: np.random.Generator,
    row_numbers: np.ndarray,
    total_rows: int,
    locale_codes: np.ndarray | None = None,
    sources: list[np.ndarray] | None = None,
) -> np.ndarray:
    """The block's values. `row_numbers` are the rows' global positions (for unique columns),
    `locale_codes` the `locale_from` column's values, `sources` the `from` columns' values."""
    n = row_numbers.size
    method, args = spec.method, dict(spec.args or {})
    if method in emails.EMAIL_METHODS:
        group, groups = pools.locale_groups(locale_codes, n, spec.locale)
        if sources:
            people: names.People | list[np.ndarray] = sources
        else:
            people = names.draw_people(group, groups, spec.seed, rng)
        unique_rows = (row_numbers, total_rows) if spec.unique else None
        return emails.emails(method, args, people, group, groups, spec.seed, rng, unique_rows)
    if method in names.NAME_METHODS and not spec.unique:
        group, groups = pools.locale_groups(locale_codes, n, spec.locale)
        if sources:
            people = names.People(sources[0], sources[1], np.zeros(n, dtype=bool))
        else:
            people = names.draw_people(group, groups, spec.seed, rng, names.NAME_METHODS[method])
        return names.full_names(people, group, groups, spec.seed, rng, titles=bool(args.get("titles")))
    if spec.unique:
        if locale_codes is not None:
            return pools.unique_by_locale(
                method, args, locale_codes, spec.seed, row_numbers, total_rows, spec.locale,
                pool_cap=spec.pool_cap,
            )  # fmt: skip
        return pools.unique_values(
            method, args, spec.locale, spec.seed, row_numbers, total_rows, pool_cap=spec.pool_cap
        )
    if locale_codes is not None:
        return pools.sample_by_locale(method, args, locale_codes, spec.seed, rng, spec.locale)
    return pools.pool_for(method, args, spec.locale, spec.seed).sample(rng, n)
