"""Realistic values at speed: faker runs once per pool, rows only index into pools.

- `pools`: the method catalogue, locale codes, deterministic pools, unique pools, per-row locales;
- `names`: person names composed from per-locale first- and last-name pools (no titles unless asked);
- `emails`: addresses built from a person's name at a provider of their country;
- `cache`: pools kept on disk between runs;
- `column`: one faker column of one block, dispatching to the above;
"""

from datagen.faker_pool.cache import cache_dir
from datagen.faker_pool.column import FakerColumn, faker_values
from datagen.faker_pool.pools import (
    DEFAULT_LOCALE,
    DEFAULT_POOL_SIZE,
    REFERENCE_NOW,
    UNIQUE_POOL_CAP,
    FakerPool,
    known_methods,
    method_problem,
    normalise_locale,
    pool_for,
    sample_by_locale,
    unique_by_locale,
    unique_values,
)

__all__ = [
    "DEFAULT_LOCALE",
    "DEFAULT_POOL_SIZE",
    "REFERENCE_NOW",
    "UNIQUE_POOL_CAP",
    "FakerColumn",
    "FakerPool",
    "cache_dir",
    "faker_values",
    "known_methods",
    "method_problem",
    "normalise_locale",
    "pool_for",
    "sample_by_locale",
    "unique_by_locale",
    "unique_values",
]
