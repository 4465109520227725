"""Person names composed row by row from per-locale first-name and last-name pools.

A pool of whole names (faker's `name`) sampled with replacement repeats names far too often: 3,000
rows drawn from 4,096 names share a full name on about a third of the rows. Real populations repeat
full names because first names and last names are each common, so here each row draws a gender, a
first name and a last name independently from pools of faker's own weighted draws of that locale
(`first_name_female`, `last_name_female`, ...). Repeats then occur at the rate the locale's name
frequencies imply (about 1 % of rows for 3,000 German customers), and gendered surnames agree with
the first name (Polish Kowalska, Russian Иванова). Parts are joined in the locale's order and
separator taken from faker's own formats (Hungarian and Japanese put the family name first; Chinese
and Korean names have no space).

No titles or suffixes ("Dr.", "Mrs.", "MD") unless the column asks with `args: {"titles": true}`:
then every name starts with one of the locale's courtesy titles for that gender ("Mrs.", "Frau",
"pani"), where faker lists them by gender; other locales' names stay without.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from faker import Faker
from faker.factory import Factory
from faker.providers.person import Provider as BasePerson

from datagen.faker_pool.cache import cached
from datagen.faker_pool.pools import DEFAULT_POOL_SIZE, pool_for, stable_seed

# Methods this module composes, and the gender each fixes (None: half female, half male).
NAME_METHODS: dict[str, str | None] = {
    "name": None,
    "name_female": "female",
    "name_male": "male",
    "name_nonbinary": None,
}
OWN_ARGS = frozenset({"titles"})
_TOKEN = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Layout:
    """How a locale writes a full name: family name first or not, and what stands between."""

    last_first: bool = False
    sep: str = " "


def _person_provider(locale: str) -> type:
    """The person provider class faker uses for the locale (its own lookup: the locale's module, else
    the provider's default), without building a whole Faker (a tenth of a second each)."""
    return Factory._find_provider_class("faker.providers.person", locale)[0]


@lru_cache(maxsize=256)
def has_titles(locale: str) -> bool:
    """Whether faker lists courtesy titles by gender for the locale. A locale with one list for both
    (fr_FR's are nobility particles, "de", "du") gets no titles rather than nonsense."""
    provider = _person_provider(locale)
    return bool(getattr(provider, "prefixes_male", None)) and bool(getattr(provider, "prefixes_female", None))


def _formats(locale: str) -> list[tuple[str, float]]:
    formats = getattr(_person_provider(locale), "formats", ()) or ()
    if isinstance(formats, dict):
        return [(f, float(w)) for f, w in formats.items()]
    return [(f, 1.0) for f in formats]


@lru_cache(maxsize=256)
def layout(locale: str) -> Layout:
    """The locale's most common plain format (a first name and a last name, nothing else)."""
    weights: dict[Layout, float] = {}
    for fmt, weight in _formats(locale):
        tokens = _TOKEN.findall(fmt)
        kinds = [
            "first" if t.startswith("first_name") else "last" if t.startswith("last_name") else t
            for t in tokens
        ]
        if sorted(kinds) != ["first", "last"]:
            continue
        sep = _TOKEN.split(fmt)[2]  # the literal text between the two tokens
        if sep not in ("", " "):
            continue
        found = Layout(last_first=kinds[0] == "last", sep=sep)
        weights[found] = weights.get(found, 0.0) + weight
    return max(weights, key=weights.__getitem__) if weights else Layout()


def _join(first: np.ndarray, last: np.ndarray, form: Layout) -> np.ndarray:
    text = np.dtypes.StringDType()
    a, b = (last, first) if form.last_first else (first, last)
    joined = np.strings.add(np.strings.add(a.astype(text), form.sep), b.astype(text))
    return joined.astype(object)


def _name_list(provider: type, part: str, sex: str) -> object | None:
    """The list faker's `<part>_name_<sex>` draws from, read off the provider class, when the locale
    leaves faker's generic lookup in place (gendered list, else the common one); None when the locale
    composes the name its own way (Polish `last_name`), so its method must be called."""
    for name in (f"{part}_name_{sex}", f"{part}_name"):
        if getattr(provider, name) is not getattr(BasePerson, name):
            return None
        if name.endswith(sex) and getattr(provider, f"{part}_names_{sex}", None):
            return getattr(provider, f"{part}_names_{sex}")
    return getattr(provider, f"{part}_names", None) or None


def _draw_part(part: str, sex: str, locale: str, seed: int) -> np.ndarray:
    names = _name_list(_person_provider(locale), part, sex)
    if names is None:
        return pool_for(f"{part}_name_{sex}", None, locale, seed).values
    values = list(names)  # type: ignore[call-overload]  # a list or a weighted dict of names
    weights = np.array([float(names[v]) for v in values] if isinstance(names, dict) else np.ones(len(values)))
    rng = np.random.default_rng(stable_seed("name-part", part, sex, locale, seed))
    picked = rng.choice(len(values), size=DEFAULT_POOL_SIZE, p=weights / weights.sum())
    return np.array(values, dtype=object)[picked]


@lru_cache(maxsize=512)
def part_pool(part: str, sex: str, locale: str, seed: int) -> np.ndarray:
    """A pool of first (`part="first"`) or last names of one gender, drawn with faker's weights: read
    straight from faker's lists with numpy where the locale allows, else from faker's method."""
    key = {"kind": "name_part", "part": part, "sex": sex, "locale": locale, "seed": seed}
    values = cached({**key, "size": DEFAULT_POOL_SIZE}, lambda: _draw_part(part, sex, locale, seed))
    values.flags.writeable = False  # shared through the lru cache
    return values


@dataclass
class People:
    """Per row: first name, last name, and whether the row is a woman (the email composer reads the
    parts; `full` joins them the locale's way)."""

    first: np.ndarray
    last: np.ndarray
    female: np.ndarray


def draw_people(
    locales: np.ndarray, groups: list[str], seed: int, rng: np.random.Generator, gender: str | None = None
) -> People:
    """Names for rows whose resolved locale is `groups[locales[i]]` (codes into `groups`).

    Three uniforms per row whatever the locales, so one row's locale never shifts another row's draw."""
    n = locales.size
    u = rng.random((3, n))
    female = u[0] < 0.5 if gender is None else np.full(n, gender == "female")
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for g, loc in enumerate(groups):
        for is_female, sex in ((True, "female"), (False, "male")):
            rows = np.flatnonzero((locales == g) & (female == is_female))
            if rows.size == 0:
                continue
            firsts = part_pool("first", sex, loc, seed)
            lasts = part_pool("last", sex, loc, seed)
            first[rows] = firsts[(u[1, rows] * firsts.size).astype(np.int64)]
            last[rows] = lasts[(u[2, rows] * lasts.size).astype(np.int64)]
    return People(first, last, female)


def full_names(
    people: People,
    locales: np.ndarray,
    groups: list[str],
    seed: int,
    rng: np.random.Generator | None = None,
    titles: bool = False,
) -> np.ndarray:
    """The people's full names, each in its locale's layout; with `titles`, prefixed by a title."""
    out = np.empty(locales.size, dtype=object)
    for g, loc in enumerate(groups):
        rows = np.flatnonzero(locales == g)
        if rows.size:
            out[rows] = _join(people.first[rows], people.last[rows], layout(loc))
    if titles:
        out = _with_titles(out, people.female, locales, groups, seed, rng)
    return out


def _with_titles(
    names: np.ndarray,
    female: np.ndarray,
    locales: np.ndarray,
    groups: list[str],
    seed: int,
    rng: np.random.Generator | None,
) -> np.ndarray:
    u = rng.random(names.size) if rng is not None else np.zeros(names.size)
    title = np.full(names.size, "", dtype=object)
    for g, loc in enumerate(groups):
        for is_female, sex in ((True, "female"), (False, "male")):
            rows = np.flatnonzero((locales == g) & (female == is_female))
            if rows.size and has_titles(loc):
                pool = pool_for(f"prefix_{sex}", None, loc, seed).values
                title[rows] = pool[(u[rows] * pool.size).astype(np.int64)]
    text = np.dtypes.StringDType()
    has = np.strings.str_len(title.astype(text)) > 0
    spaced = np.where(has, np.strings.add(title.astype(text), " "), "").astype(text)
    return np.strings.add(spaced, names.astype(text)).astype(object)


def one_name_call(fake: Faker, method: str, locale: str, titles: bool) -> Callable[[], str]:
    """One composed name per call, for pools of distinct names (`unique` columns)."""
    form, gender = layout(locale), NAME_METHODS[method]

    def call() -> str:
        sex = gender or ("female" if fake.random.random() < 0.5 else "male")
        first = getattr(fake, f"first_name_{sex}")()
        last = getattr(fake, f"last_name_{sex}")()
        name = form.sep.join((last, first) if form.last_first else (first, last))
        title = getattr(fake, f"prefix_{sex}")() if titles and has_titles(locale) else ""
        return f"{title} {name}" if title else name

    return call
