"""Realistic values at speed: faker runs once per pool, rows only index into pools.

Faker costs tens of microseconds per value, so the engine never calls it per row. A pool of values is
drawn once per (method, args, locale, seed) and rows sample indices from it with numpy. A pool is a pure
function of those inputs: faker's instance is seeded from a stable hash, and faker's clock is pinned at
`REFERENCE_NOW` while it draws, so relative ranges ("-30y", `date_of_birth`, `date_this_year`) do not
move with the wall clock or the machine's timezone. Being pure, pools are also kept on disk between
runs (cache.py).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import inspect
import json
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker
from faker.config import AVAILABLE_LOCALES
from faker.providers import BaseProvider

from datagen.errors import GenerationError
from datagen.faker_pool.cache import cached

DEFAULT_POOL_SIZE = 4096
# Upper bound on the distinct values drawn for a `unique` column (about 2 s for `name`); rows beyond it
# reuse the pool with a suffix.
UNIQUE_POOL_CAP = 1 << 15
DEFAULT_LOCALE = "en_US"
# The "now" faker sees. Mid-year so that `date_this_year` / `date_this_month` are real ranges.
REFERENCE_NOW = dt.datetime(2025, 6, 30, 12, 0, tzinfo=dt.UTC)

_SCALAR_TYPES = (str, int, float, bool, Decimal, dt.date)  # dt.datetime is a dt.date

# Callable without arguments and returning a scalar, yet not data: helpers, constants, file generators.
_NOT_DATA = frozenset(
    {
        "format",
        "parse",
        "provider",
        "pystr_format",
        "binary",
        "enum",
        "locale",
        "language_code",
        "null_boolean",
        "zip",
        "tar",
        "json",
        "json_bytes",
        "csv",
        "dsv",
        "tsv",
        "psv",
        "xml",
        "fixed_width",
        "pyobject",
        "pystruct",
        "pydict",
        "pylist",
        "pyset",
        "pytuple",
        "pyiterable",
    }
)
_NOT_DATA_PREFIXES = ("seed", "random", "get_", "image")


# --- faker's clock ------------------------------------------------------------------------------------


class _PlainTypeCheck(type):
    """Lets `isinstance(x, FrozenDatetime)` inside faker still accept ordinary datetimes and dates."""

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, cls.__mro__[1])

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.__mro__[1])


class _FrozenDatetime(dt.datetime, metaclass=_PlainTypeCheck):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        # Naive "local now" is the reference in UTC, which faker converts back to UTC: TZ-independent.
        return REFERENCE_NOW.astimezone(tz) if tz is not None else REFERENCE_NOW.replace(tzinfo=None)

    @classmethod
    def today(cls) -> dt.datetime:  # type: ignore[override]
        return cls.now()

    @classmethod
    def utcnow(cls) -> dt.datetime:  # type: ignore[override]
        return REFERENCE_NOW.replace(tzinfo=None)


class _FrozenDate(dt.date, metaclass=_PlainTypeCheck):
    @classmethod
    def today(cls) -> dt.date:  # type: ignore[override]
        return REFERENCE_NOW.date()


_FROZEN_DATETIME_MODULE = types.ModuleType("datetime")
_FROZEN_DATETIME_MODULE.__dict__.update(vars(dt), datetime=_FrozenDatetime, date=_FrozenDate)
_CLOCK_LOCK = threading.RLock()


@contextmanager
def _frozen_clock() -> Iterator[None]:
    """Pin faker's notion of now by swapping the `datetime` names its modules imported.

    Faker has no clock setting; its providers call `datetime.now()` / `date.today()` through names bound
    at import. Only faker's own modules are touched, and only while the lock is held. Modules of a
    locale are imported when its first Faker is built, so callers build the Faker before entering.
    """
    swaps = {id(dt.datetime): _FrozenDatetime, id(dt.date): _FrozenDate, id(dt): _FROZEN_DATETIME_MODULE}
    with _CLOCK_LOCK:
        undo = []
        for name, module in list(sys.modules.items()):
            if module is None or not name.startswith("faker."):
                continue
            for attr, value in list(vars(module).items()):
                frozen = swaps.get(id(value))  # those three are alive, so an id match is identity
                if frozen is not None:
                    undo.append((module, attr, value))
                    setattr(module, attr, frozen)
        try:
            yield
        finally:
            for module, attr, value in undo:
                setattr(module, attr, value)


# --- the method catalogue -----------------------------------------------------------------------------


def _is_scalar(value: object) -> bool:
    return isinstance(value, _SCALAR_TYPES)


@lru_cache(maxsize=1)
def known_methods() -> frozenset[str]:
    """Faker methods usable as a column generator, judged on a default en_US Faker.

    A method qualifies when it belongs to a provider, needs no arguments, is not in the not-data list,
    and a trial call returns a scalar a column can hold (str, int, float, bool, Decimal, date, datetime).
    Optional packages can change the answer, so the cached list is keyed by the Python version too.
    """
    key = {"kind": "catalogue", "python": sys.version, "seed": 0}
    return frozenset(cached(key, lambda: np.array(sorted(_catalogue()), dtype=object)).tolist())


def _catalogue() -> set[str]:
    fake = _seeded(DEFAULT_LOCALE, 0)
    found = set()
    with _frozen_clock():
        for name in dir(fake):
            if name.startswith("_") or name in _NOT_DATA or name.startswith(_NOT_DATA_PREFIXES):
                continue
            fn = getattr(fake, name, None)
            if not (inspect.ismethod(fn) and isinstance(fn.__self__, BaseProvider)):
                continue
            if any(
                p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                for p in inspect.signature(fn).parameters.values()
            ):
                continue
            try:
                value = fn()
            except Exception:  # a provider broken without optional packages is simply not offered
                continue
            if _is_scalar(value):
                found.add(name)
    return found


# Words people (and models) use for faker's names that no spelling distance finds.
_SYNONYMS = {
    "surname": "last_name",
    "family_name": "last_name",
    "given_name": "first_name",
    "forename": "first_name",
    "full_name": "name",
    "company_name": "company",
    "organisation": "company",
    "organization": "company",
    "telephone": "phone_number",
    "mobile": "phone_number",
    "postal_code": "postcode",
    "zip": "zipcode",
}


def _suggest(word: str, candidates: frozenset[str]) -> list[str]:
    """Synonyms and typos first ('fist_name'), then whole words of the name ('email_address' -> 'email'),
    then longer names it starts ('phone' -> 'phone_number'), then looser look-alikes."""
    word = word.lower()
    ordered = sorted(candidates)
    picks = [_SYNONYMS[word]] if word in _SYNONYMS else []
    picks += difflib.get_close_matches(word, ordered, n=2, cutoff=0.8)
    picks += [c for c in ordered if c in word.split("_")]
    picks += [c for c in ordered if c.startswith(word + "_")]
    picks += difflib.get_close_matches(word, ordered, n=4, cutoff=0.6)
    return list(dict.fromkeys(picks))[:4]


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _own_args(method: str) -> frozenset[str]:
    """Arguments of the methods this package composes itself instead of calling faker per value."""
    from datagen.faker_pool import emails, names  # both build on this module

    if method in names.NAME_METHODS:
        return names.OWN_ARGS
    if method in emails.EMAIL_METHODS:
        return emails.OWN_ARGS
    return frozenset()


def _own_args_problem(method: str, args: Mapping[str, object]) -> str | None:
    for flag in ("titles", "safe"):
        if flag in args and not isinstance(args[flag], bool):
            return f"'{flag}' of faker method '{method}' is true or false, not {args[flag]!r}."
    domain = args.get("domain")
    if "domain" in args and not (
        isinstance(domain, str) and re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", domain)
    ):
        return f"'domain' of faker method '{method}' must be a domain such as 'example.com', not {domain!r}."
    return None


def method_problem(
    method: str, args: Mapping[str, object] | None, *, locale: str | None = None
) -> str | None:
    """Why `faker: {method, args, locale}` cannot work, in words the schema author can act on; else None.

    Beyond the name and the argument names, the method is tried once with the arguments, which catches
    bad values (`pyint` with min_value > max_value) and arguments that make it return a non-scalar.
    """
    known = known_methods()
    if method not in known:
        hint = _suggest(method, known)
        tail = f"did you mean {_quoted(hint)}?" if hint else "e.g. 'name', 'email', 'city', 'company'."
        return f"unknown faker method '{method}'; {tail}"
    fake = _reference_faker()
    fake.seed_instance(0)
    params = inspect.signature(getattr(fake, method)).parameters
    args = dict(args or {})
    own = _own_args(method)
    if problem := _own_args_problem(method, {k: v for k, v in args.items() if k in own}):
        return problem
    if own:  # composed here, not by faker: only our own arguments apply
        bad = [a for a in args if a not in own]
        if bad:
            return (
                f"faker method '{method}' does not accept {_quoted(bad)}; "
                f"it accepts: {', '.join(sorted(own))}."
            )
        args = {}
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        accepted = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        bad = [a for a in args if a not in accepted]
        if bad:
            if not accepted:
                return f"faker method '{method}' takes no arguments; remove 'args' ({_quoted(bad)})."
            near = [s for b in bad for s in difflib.get_close_matches(b, accepted, n=1, cutoff=0.5)]
            guess = f" (did you mean {_quoted(near)}?)" if near else ""
            return (
                f"faker method '{method}' does not accept {_quoted(bad)}{guess}; "
                f"it accepts: {', '.join(accepted)}."
            )
    if locale is not None:
        resolved = normalise_locale(locale)
        if resolved is None:
            return f"unknown locale '{locale}'; use a faker locale like 'de_DE' or a country code like 'DE'."
        if not _locale_supports(resolved, method):
            return f"faker locale {resolved} has no method '{method}'; drop 'locale' or pick another method."
    with _frozen_clock():
        try:
            value = getattr(fake, method)(**args)
        except Exception as exc:
            return f"faker method '{method}' failed with args {json.dumps(args, default=str)}: {exc}"
    if not _is_scalar(value):
        return (
            f"faker method '{method}' with these args returns {type(value).__name__}, "
            f"not a single value a column can hold."
        )
    return None


# --- locales ------------------------------------------------------------------------------------------

# Where a country has several faker locales, the one people there mostly expect.
_COUNTRY_PREFERENCE = {
    "BA": "bs_BA",
    "BD": "bn_BD",
    "BE": "nl_BE",
    "CA": "en_CA",
    "CH": "de_CH",
    "DK": "da_DK",
    "DZ": "ar_DZ",
    "IE": "en_IE",
    "IN": "en_IN",
    "LU": "lb_LU",
    "NG": "en_NG",
    "PH": "en_PH",
    "TH": "th_TH",
    "US": "en_US",
}
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR", "MY": "MS"}  # faker's en_MS is Malaysia
_NOT_COUNTRIES = frozenset({"AA", "QC"})  # ar_AA is generic Arabic, fr_QC a province
_DEPRECATED = {"fr_qc": "fr_CA"}  # faker warns on each use of these
_LANGUAGE_PREFERENCE = {"ar": "ar_SA", "el": "el_GR", "en": "en_US", "zh": "zh_CN"}


def _prefer(groups: dict[str, list[str]], preference: Mapping[str, str], same_code: bool) -> dict[str, str]:
    chosen = {}
    for key, locales in groups.items():
        own = f"{key.lower()}_{key.upper()}"
        if key in preference:
            chosen[key] = preference[key]
        elif len(locales) == 1:
            chosen[key] = locales[0]
        elif same_code and own in locales:  # de -> de_DE, fr -> fr_FR
            chosen[key] = own
        else:
            chosen[key] = sorted(locales)[0]
    return chosen


@lru_cache(maxsize=1)
def _locale_tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    by_country: dict[str, list[str]] = {}
    by_language: dict[str, list[str]] = {}
    for loc in AVAILABLE_LOCALES:
        language, _, country = loc.partition("_")
        by_language.setdefault(language, []).append(loc)
        if country and country not in _NOT_COUNTRIES:
            by_country.setdefault(country, []).append(loc)
    regional = {k: [v for v in vs if "_" in v] or vs for k, vs in by_language.items()}
    exact = {loc.lower(): loc for loc in AVAILABLE_LOCALES} | _DEPRECATED
    return (
        exact,
        _prefer(by_country, _COUNTRY_PREFERENCE, same_code=False),
        _prefer(regional, _LANGUAGE_PREFERENCE, same_code=True),
    )


def normalise_locale(code: str) -> str | None:
    """A faker locale for a country code ('DE', 'uk'), a locale ('en-us', 'de_DE') or a language ('ja').

    Two letters are read as a country first, then as a language; a full locale faker lacks falls back to
    its language, then its country. None when nothing fits (the caller decides the fallback).
    """
    if not isinstance(code, str):
        return None
    text = re.split(r"[.@]", code.strip())[0].replace("-", "_")
    exact, countries, languages = _locale_tables()
    language, _, country = text.partition("_")
    if not country:  # 'de' is Germany here, not faker's language-only locale 'de'
        upper = _COUNTRY_ALIASES.get(language.upper(), language.upper())
        return countries.get(upper) or languages.get(language.lower())
    if text.lower() in exact:
        return exact[text.lower()]
    country = _COUNTRY_ALIASES.get(country.upper(), country.upper())
    return languages.get(language.lower()) or countries.get(country)


# --- pools --------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _locale_supports(locale: str, method: str) -> bool:
    """Whether the locale really implements the method: some locales inherit a generic provider that
    refuses to work (fi_FI `bank`), others lack it altogether (de_DE `state_abbr`)."""
    key = {"kind": "supports", "method": method, "locale": locale, "seed": 0}
    return bool(cached(key, lambda: np.array([_try_method(locale, method)]))[0])


def _try_method(locale: str, method: str) -> bool:
    fn = getattr(_seeded(locale, 0), method, None)
    if fn is None:
        return False
    with _frozen_clock():
        try:
            return _is_scalar(fn())
        except Exception:
            return False


def _args_key(args: Mapping[str, object] | None) -> str:
    return json.dumps(dict(args or {}), sort_keys=True, default=repr)


def stable_seed(*parts: object) -> int:
    digest = hashlib.blake2b(json.dumps(parts, default=repr).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@lru_cache(maxsize=1)
def _reference_faker() -> Faker:
    """One en_US Faker for trial calls (building one takes a tenth of a second)."""
    return Faker(DEFAULT_LOCALE)


def _seeded(locale: str, seed: int) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


def _resolve_locale(locale: str) -> str:
    resolved = normalise_locale(locale)
    if resolved is None:
        raise GenerationError(
            f"unknown faker locale '{locale}'",
            hint="use a faker locale such as 'de_DE' or a country code such as 'DE'",
        )
    return resolved


def _faker_call(method: str, args: Mapping[str, object], locale: str, seed: int) -> Callable[[], object]:
    """The bound faker method for one pool, its instance seeded from everything that defines the pool."""
    if method not in known_methods():
        raise GenerationError(f"unknown faker method '{method}'", hint=method_problem(method, args))
    fake = _seeded(locale, stable_seed(method, _args_key(args), locale, seed))
    from datagen.faker_pool import names  # names builds on this module's pools

    if method in names.NAME_METHODS:  # faker's own would add titles ("Dr.", "MD")
        return names.one_name_call(fake, method, locale, bool(args.get("titles")))
    fn = getattr(fake, method, None)
    if fn is None:
        raise GenerationError(
            f"faker locale {locale} has no method '{method}'", hint="pick another locale or method"
        )
    kwargs = dict(args)
    return lambda: fn(**kwargs)


def _draw(call: Callable[[], object], n: int, method: str, locale: str) -> list:
    try:
        values = [call() for _ in range(n)]
    except Exception as exc:
        raise GenerationError(
            f"faker method '{method}' failed for locale {locale}: {exc}",
            hint="check the generator's args, or pick another locale",
        ) from exc
    odd = next((v for v in values if not _is_scalar(v)), None)
    if odd is not None:
        raise GenerationError(
            f"faker method '{method}' returned {type(odd).__name__}, not a single value",
            hint="pick a method or args that produce one value per row",
        )
    return values


def _to_array(values: list, method: str) -> np.ndarray:
    """Typed numpy arrays where the values allow it; strings stay an object array of python str."""
    kinds = {type(v) for v in values}
    if kinds <= {bool}:
        return np.array(values, dtype=bool)
    if all(issubclass(k, int) and k is not bool for k in kinds):
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError as exc:
            raise GenerationError(
                f"faker method '{method}' returned integers beyond 64 bits",
                hint="narrow the range in its args",
            ) from exc
    if all(issubclass(k, int | float | Decimal) and k is not bool for k in kinds):
        return np.array([float(v) for v in values], dtype=np.float64)
    if all(issubclass(k, dt.datetime) for k in kinds):
        naive = [v.astimezone(dt.UTC).replace(tzinfo=None) if v.tzinfo else v for v in values]
        return np.array(naive, dtype="datetime64[us]")
    if all(issubclass(k, dt.date) and not issubclass(k, dt.datetime) for k in kinds):
        return np.array(values, dtype="datetime64[D]")
    if all(issubclass(k, str) for k in kinds):
        return np.array(values, dtype=object)
    names = sorted(k.__name__ for k in kinds)
    raise GenerationError(
        f"faker method '{method}' returned mixed types ({', '.join(names)})",
        hint="pick a method whose values share one type",
    )


def _frozen(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False  # pools are shared through the caches
    return values


class FakerPool:
    """Deterministic pool of faker values for one (method, args, locale): rows sample indices from it.

    `values` is typed where the values allow (int64, float64, bool, datetime64[D] for dates,
    datetime64[us] for datetimes, Decimals as float64) and an object array of str otherwise. It is
    read-only because pools are shared.
    """

    def __init__(
        self,
        method: str,
        args: Mapping[str, object] | None,
        locale: str,
        seed: int,
        size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.method = method
        self.args = dict(args or {})
        self.locale = _resolve_locale(locale)
        self.seed = seed
        key = {"kind": "pool", "method": method, "args": _args_key(args), "locale": self.locale}
        self.values: np.ndarray = _frozen(
            cached({**key, "seed": seed, "size": size}, lambda: self._build(size))
        )

    def _build(self, size: int) -> np.ndarray:
        call = _faker_call(self.method, self.args, self.locale, self.seed)
        with _frozen_clock():
            raw = _draw(call, size, self.method, self.locale)
        return _to_array(raw, self.method)

    @property
    def size(self) -> int:
        return int(self.values.size)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.values[rng.integers(0, self.values.size, size=n)]

    def take(self, idx: np.ndarray) -> np.ndarray:
        return self.values[idx]


@lru_cache(maxsize=256)
def _cached_pool(method: str, args_key: str, locale: str, seed: int, size: int) -> FakerPool:
    return FakerPool(method, json.loads(args_key), locale, seed, size)


def pool_for(
    method: str, args: Mapping[str, object] | None, locale: str, seed: int, size: int = DEFAULT_POOL_SIZE
) -> FakerPool:
    """The pool for these inputs, built once per process."""
    return _cached_pool(method, _args_key(args), locale, seed, size)


# --- unique columns -----------------------------------------------------------------------------------

_UNIQUE_ROUNDS = 6


@lru_cache(maxsize=64)
def _distinct_pool(method: str, args_key: str, locale: str, seed: int, target: int) -> np.ndarray:
    """Up to `target` distinct values in draw order; fewer when the method runs out of variety."""
    locale = _resolve_locale(locale)
    key = {"kind": "distinct", "method": method, "args": args_key, "locale": locale}
    return _frozen(
        cached(
            {**key, "seed": seed, "size": target},
            lambda: _draw_distinct(method, args_key, locale, seed, target),
        )
    )


def _draw_distinct(method: str, args_key: str, locale: str, seed: int, target: int) -> np.ndarray:
    call = _faker_call(method, json.loads(args_key), locale, seed)
    seen: dict[object, None] = {}
    with _frozen_clock():
        for _ in range(_UNIQUE_ROUNDS):
            need = target - len(seen)
            before = len(seen)
            if need <= 0:
                break
            seen.update(dict.fromkeys(_draw(call, need + need // 8 + 16, method, locale)))
            if len(seen) == before:  # saturated: more draws would only repeat
                break
    values = _to_array(list(seen)[:target], method)
    _, first = np.unique(values, return_index=True)  # conversion can merge (Decimal -> float)
    return values[np.sort(first)]


def _mix(x: np.ndarray, key: np.uint64) -> np.ndarray:
    """A splitmix-style scramble of uint64 values (wrapping arithmetic is intended)."""
    x = (x ^ key) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    return x ^ (x >> np.uint64(29))


def row_permutation(rows: np.ndarray, total: int, seed: int) -> np.ndarray:
    """A seeded bijection of [0, total), evaluated pointwise so any block of rows is mapped alone.

    A 4-round Feistel network permutes [0, 4^h) with 4^h >= total; values that land outside [0, total)
    are pushed through again (cycle walking), which keeps it a bijection of [0, total). Shuffling the
    rows spreads the suffixed values over the table instead of leaving them all at the end.
    """
    half = max(1, ((total - 1).bit_length() + 1) // 2)
    mask = np.uint64((1 << half) - 1)
    keys = [np.uint64(stable_seed("unique-rows", seed, total, r)) for r in range(4)]

    def feistel(x: np.ndarray) -> np.ndarray:
        left, right = x >> np.uint64(half), x & mask
        for key in keys:
            left, right = right, left ^ (_mix(right, key) & mask)
        return (left << np.uint64(half)) | right

    out = feistel(rows.astype(np.uint64))
    outside = np.flatnonzero(out >= total)
    while outside.size:
        out[outside] = feistel(out[outside])
        outside = outside[out[outside] >= total]
    return out.astype(np.int64)


def _free_separator(texts: np.ndarray, candidates: tuple[str, ...]) -> str:
    """A separator s such that no pool text ends in s+digits, so suffixed values never equal pool values
    and each splits back into exactly one (pool value, cycle): uniqueness holds by construction."""
    arr = pa.array(texts.astype(object), type=pa.string())
    for sep in candidates:
        if not pc.any(pc.match_substring_regex(arr, re.escape(sep) + r"[0-9]+$")).as_py():
            return sep
    raise GenerationError(
        "cannot find a suffix that keeps these faker values unique",
        hint="use a method with more variety or drop 'unique'",
    )


def _with_suffix(values: np.ndarray, cycle: np.ndarray, pool: np.ndarray, method: str) -> np.ndarray:
    """Disambiguate repeated pool values by their cycle (>= 1; cycle 0 is left untouched):

    - emails: the number goes before the '@' ('jane.doe@x.org' -> 'jane.doe2@x.org', or 'jane.doe.2@',
      'jane.doe_2@', 'jane.doe+2@' when pool local parts already end in digits);
    - other strings: ' 2' appended ('Jane Doe 2'), else '-2', '_2', ' #2', '~2';
    - numbers and dates: shifted by cycle * span, span just wider than the pool's range, so cycles land
      in disjoint ranges (values leave the pool's range: unique dates of birth may lie in the future);
    - booleans cannot be made unique beyond two rows.
    """
    repeat = cycle > 0
    if values.dtype == bool:
        raise GenerationError(
            f"faker method '{method}' has only {pool.size} distinct values; "
            f"cannot fill a unique column with more rows",
            hint="drop 'unique'",
        )
    if values.dtype.kind in "iufmM":
        one: Any = 1
        if values.dtype.kind == "M":
            one = np.timedelta64(1, np.datetime_data(values.dtype)[0])  # type: ignore[call-overload]
        span = (pool.max() - pool.min()) + one
        return values + cycle.astype(np.int64) * span
    text = np.dtypes.StringDType()
    strings = values.astype(text)
    number = (cycle + 1).astype(text)
    is_email = bool(pc.all(pc.equal(pc.count_substring(pa.array(pool, type=pa.string()), "@"), 1)).as_py())
    if is_email:
        local, at, domain = np.strings.partition(strings, np.array("@", dtype=text))
        pool_local = np.strings.partition(pool.astype(text), np.array("@", dtype=text))[0]
        sep = _free_separator(pool_local, ("", ".", "_", "+"))
    else:
        sep = _free_separator(pool, (" ", "-", "_", " #", "~"))
    tag = np.strings.add(np.full(strings.size, sep, dtype=text), number)
    tag[~repeat] = ""
    out = (
        np.strings.add(np.strings.add(local, tag), np.strings.add(at, domain))
        if is_email
        else np.strings.add(strings, tag)
    )
    return out.astype(object)


def unique_values(
    method: str,
    args: Mapping[str, object] | None,
    locale: str,
    seed: int,
    row_index: np.ndarray,
    total_rows: int,
    *,
    pool_cap: int = UNIQUE_POOL_CAP,
) -> np.ndarray:
    """Values unique across the whole table, as a pure function of the global row index.

    A pool of up to min(total_rows, pool_cap) distinct values is drawn; a seeded bijection of the row
    range maps row i to position j, which takes pool slot j % P in cycle j // P. Cycle 0 is the plain
    pool value, later cycles carry a suffix (see `_with_suffix`). Any block of rows can therefore be
    generated alone and blocks never collide.
    """
    rows = np.asarray(row_index, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= total_rows):
        raise GenerationError(f"row index outside [0, {total_rows}) for a unique faker column")
    pool = _distinct_pool(method, _args_key(args), locale, seed, max(1, min(total_rows, pool_cap)))
    position = row_permutation(rows, total_rows, seed)
    cycle = position // pool.size
    values = pool[position % pool.size]
    if total_rows <= pool.size:
        return values
    return _with_suffix(values, cycle, pool, method)


# --- per-row locales ----------------------------------------------------------------------------------


def locale_groups(
    locale_codes: np.ndarray | None, n: int, default_locale: str, method: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Each row's faker locale, as (group per row, the groups' locales).

    Codes are normalised once per distinct code. A code faker cannot map (unknown, empty, null), and a
    locale that lacks `method` (e.g. `state_abbr` in de_DE), uses `default_locale` (en_US unless the
    column says otherwise). Without codes every row is in the default locale."""
    default = _resolve_locale(default_locale)
    if locale_codes is None:
        return np.zeros(n, dtype=np.int64), [default]
    codes = np.asarray(locale_codes, dtype=object).astype(str)
    distinct, inverse = np.unique(codes, return_inverse=True)

    def usable(code: str) -> str:
        loc = normalise_locale(code)
        ok = loc is not None and (method is None or _locale_supports(loc, method))
        return loc if ok and loc is not None else default

    resolved = np.array([usable(c) for c in distinct], dtype=object)
    locales, group_of_distinct = np.unique(resolved, return_inverse=True)
    return group_of_distinct[inverse].astype(np.int64), [str(loc) for loc in locales]


def sample_by_locale(
    method: str,
    args: Mapping[str, object] | None,
    locale_codes: np.ndarray,
    seed: int,
    rng: np.random.Generator,
    default_locale: str = DEFAULT_LOCALE,
) -> np.ndarray:
    """`locale_from`: each row draws from the pool of its own locale (see `locale_groups`).

    The rng is consumed the same way whatever the mix of locales (one uniform per row), so changing one
    row's country changes only that row.
    """
    group, locales = locale_groups(locale_codes, len(locale_codes), default_locale, method)
    u = rng.random(group.size)
    pools = [pool_for(method, args, loc, seed) for loc in locales]
    dtypes = {p.values.dtype for p in pools}
    out = np.empty(group.size, dtype=dtypes.pop() if len(dtypes) == 1 else object)
    for g, pool in enumerate(pools):
        rows = np.flatnonzero(group == g)
        out[rows] = pool.take((u[rows] * pool.size).astype(np.int64))
    return out


def unique_by_locale(
    method: str,
    args: Mapping[str, object] | None,
    locale_codes: np.ndarray,
    seed: int,
    row_index: np.ndarray,
    total_rows: int,
    default_locale: str = DEFAULT_LOCALE,
    *,
    pool_cap: int = UNIQUE_POOL_CAP,
) -> np.ndarray:
    """`unique` with `locale_from`: each row takes a value of its own locale, unique over the table.

    As `unique_values`, with one distinct pool per locale. A value two locales share belongs to the
    first (in locale order) only, so the pools are disjoint; a locale left with no values of its own
    (it shares faker's data with another, like en_CA with en_US) uses the owner's pool. Rows sharing a
    pool differ in (slot, cycle) because their positions differ, and the suffix is chosen over the
    union of the pools, so no two rows of the table can meet."""
    rows = np.asarray(row_index, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= total_rows):
        raise GenerationError(f"row index outside [0, {total_rows}) for a unique faker column")
    group, locales = locale_groups(locale_codes, rows.size, default_locale, method)
    owned, union = _disjoint_pools(
        method, _args_key(args), tuple(locales), seed, max(1, min(total_rows, pool_cap))
    )
    position = row_permutation(rows, total_rows, seed)
    values = np.empty(rows.size, dtype=union.dtype)
    cycle = np.zeros(rows.size, dtype=np.int64)
    for g, pool in enumerate(owned):
        picked = np.flatnonzero(group == g)
        values[picked] = pool[position[picked] % pool.size]
        cycle[picked] = position[picked] // pool.size
    if not cycle.any():
        return values
    return _with_suffix(values, cycle, union, method)


@lru_cache(maxsize=64)
def _disjoint_pools(
    method: str, args_key: str, locales: tuple[str, ...], seed: int, target: int
) -> tuple[list[np.ndarray], np.ndarray]:
    pools = [_distinct_pool(method, args_key, loc, seed, target) for loc in locales]
    owned: list[np.ndarray] = []
    own: list[np.ndarray] = []  # each value once
    for i, pool in enumerate(pools):
        mine = pool[~np.isin(pool, np.concatenate(pools[:i]))] if i else pool
        if mine.size:
            own.append(mine)
        else:
            mine = owned[next(j for j in range(i) if np.isin(pool[:1], pools[j]).any())]
        owned.append(_frozen(mine))
    return owned, _frozen(np.concatenate(own))
