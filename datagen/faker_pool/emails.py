"""Email addresses built from a person's name, the way people pick them, at a provider of their country.

Faker's own `email` invents a second, unrelated person for the address and, by default, an
example.org domain. Here the user name comes from the row's own name (the columns named by `from`,
else a name drawn from the locale's name pools), transliterated to ASCII the way the language does it
(German ü→ue, ß→ss; Danish/Norwegian ø→oe, å→aa; everything else through `anyascii`: é→e, ł→l,
Иванова→ivanova, 王伟→wangwei), in one of the usual shapes (`USERNAME_SHAPES`), at a domain drawn
from the free-mail providers common in the row's country (`FREE_MAIL`) or, for a share of `email`
rows (`WORK_SHARE`), a company-like domain of that locale. All vectorised: Python only touches the
distinct name tokens of each locale, never each row.

Methods: `email` (free mail, some company domains), `free_email` (free mail only), `company_email`
(company domains only), `safe_email` or `args: {"safe": true}` (example.com/.org/.net, for data that
must never hit a real mailbox), `args: {"domain": "acme.com"}` (one fixed domain, e.g. staff
addresses) and `user_name` (the name part alone).

With `unique: true` every user name ends in a number derived from the row's position in the table
(a seeded permutation, so numbers look random): the name part keeps its letters, the number alone
tells rows apart, so addresses are unique across blocks without seeing the other blocks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from anyascii import anyascii

from datagen.faker_pool.names import People, layout
from datagen.faker_pool.pools import pool_for, row_permutation

EMAIL_METHODS = frozenset({"email", "free_email", "company_email", "safe_email", "user_name"})
OWN_ARGS = frozenset({"safe", "domain"})
SAFE_DOMAINS = ("example.com", "example.org", "example.net")
WORK_SHARE = 0.08  # share of `email` rows at a company-like domain instead of a free-mail provider
WORK_DOMAINS = 256  # company-like domains per locale (faker draws them slowly: ~0.2 ms each)
_TEXT = np.dtypes.StringDType()

# Free-mail and ISP providers common in each country, with rough shares (normalised on use). Rows of a
# country not listed use DEFAULT_FREE_MAIL.
# fmt: off
FREE_MAIL: dict[str, dict[str, float]] = {
    "AT": {"gmail.com": 30, "gmx.at": 20, "aon.at": 10, "outlook.com": 8, "a1.net": 8, "hotmail.com": 10,
           "yahoo.de": 5, "chello.at": 5, "icloud.com": 4},
    "AU": {"gmail.com": 35, "bigpond.com": 15, "hotmail.com": 12, "yahoo.com.au": 10, "outlook.com": 8,
           "icloud.com": 8, "optusnet.com.au": 7, "live.com.au": 5},
    "BE": {"gmail.com": 35, "hotmail.com": 15, "skynet.be": 15, "telenet.be": 15, "outlook.com": 8,
           "yahoo.fr": 5, "icloud.com": 4, "live.be": 3},
    "BR": {"gmail.com": 50, "hotmail.com": 20, "yahoo.com.br": 10, "outlook.com": 8, "uol.com.br": 5,
           "bol.com.br": 4, "terra.com.br": 3},
    "CA": {"gmail.com": 40, "hotmail.com": 15, "yahoo.ca": 10, "outlook.com": 10, "icloud.com": 6,
           "shaw.ca": 5, "rogers.com": 5, "videotron.ca": 5, "sympatico.ca": 4},
    "CH": {"gmail.com": 30, "bluewin.ch": 25, "hotmail.com": 10, "gmx.ch": 10, "outlook.com": 8,
           "sunrise.ch": 7, "icloud.com": 5, "yahoo.com": 5},
    "CN": {"qq.com": 40, "163.com": 25, "126.com": 10, "sina.com": 8, "foxmail.com": 7, "gmail.com": 5,
           "sohu.com": 5},
    "CZ": {"seznam.cz": 40, "gmail.com": 30, "email.cz": 10, "centrum.cz": 10, "post.cz": 5,
           "outlook.com": 5},
    "DE": {"gmail.com": 25, "gmx.de": 20, "web.de": 20, "t-online.de": 10, "outlook.de": 5, "gmx.net": 4,
           "hotmail.de": 4, "yahoo.de": 4, "freenet.de": 3, "icloud.com": 3, "posteo.de": 2},
    "DK": {"gmail.com": 35, "hotmail.com": 20, "live.dk": 8, "outlook.dk": 8, "mail.dk": 8, "yahoo.dk": 6,
           "jubii.dk": 5, "icloud.com": 5, "tdcadsl.dk": 5},
    "ES": {"gmail.com": 45, "hotmail.com": 20, "yahoo.es": 8, "outlook.es": 8, "hotmail.es": 8,
           "telefonica.net": 4, "icloud.com": 4, "movistar.es": 3},
    "FI": {"gmail.com": 40, "hotmail.com": 15, "luukku.com": 10, "outlook.com": 10, "suomi24.fi": 8,
           "elisanet.fi": 7, "yahoo.com": 5, "icloud.com": 5},
    "FR": {"gmail.com": 35, "orange.fr": 15, "hotmail.fr": 12, "yahoo.fr": 8, "free.fr": 8, "sfr.fr": 6,
           "laposte.net": 6, "wanadoo.fr": 4, "outlook.fr": 3, "icloud.com": 3},
    "GB": {"gmail.com": 35, "hotmail.co.uk": 15, "yahoo.co.uk": 10, "outlook.com": 10, "btinternet.com": 8,
           "icloud.com": 6, "live.co.uk": 5, "sky.com": 5, "aol.com": 3, "virginmedia.com": 3},
    "IE": {"gmail.com": 40, "hotmail.com": 15, "eircom.net": 10, "yahoo.ie": 8, "outlook.com": 10,
           "icloud.com": 7, "live.ie": 5},
    "IN": {"gmail.com": 60, "yahoo.co.in": 12, "rediffmail.com": 10, "hotmail.com": 8, "outlook.com": 6,
           "yahoo.com": 4},
    "IT": {"gmail.com": 35, "libero.it": 15, "hotmail.it": 12, "yahoo.it": 8, "virgilio.it": 7,
           "alice.it": 6, "outlook.it": 5, "tim.it": 5, "tiscali.it": 4, "icloud.com": 3},
    "JP": {"gmail.com": 30, "yahoo.co.jp": 25, "docomo.ne.jp": 10, "ezweb.ne.jp": 10, "icloud.com": 10,
           "softbank.ne.jp": 8, "outlook.jp": 7},
    "KR": {"naver.com": 45, "gmail.com": 25, "daum.net": 15, "hanmail.net": 10, "nate.com": 5},
    "MX": {"gmail.com": 45, "hotmail.com": 30, "yahoo.com.mx": 10, "outlook.com": 10, "prodigy.net.mx": 5},
    "NL": {"gmail.com": 35, "hotmail.com": 20, "outlook.com": 10, "ziggo.nl": 8, "kpnmail.nl": 6,
           "live.nl": 6, "hotmail.nl": 5, "icloud.com": 5, "planet.nl": 3, "xs4all.nl": 2},
    "NO": {"gmail.com": 40, "hotmail.com": 20, "online.no": 12, "outlook.com": 8, "icloud.com": 8,
           "yahoo.no": 6, "live.no": 6},
    "PL": {"gmail.com": 30, "wp.pl": 15, "o2.pl": 12, "interia.pl": 12, "onet.pl": 10, "op.pl": 6,
           "outlook.com": 4, "gazeta.pl": 3, "yahoo.com": 3, "tlen.pl": 2},
    "PT": {"gmail.com": 45, "hotmail.com": 15, "sapo.pt": 15, "outlook.pt": 8, "yahoo.com": 5, "iol.pt": 5,
           "clix.pt": 4, "icloud.com": 3},
    "RU": {"mail.ru": 30, "yandex.ru": 30, "gmail.com": 20, "rambler.ru": 8, "bk.ru": 5, "list.ru": 4,
           "inbox.ru": 3},
    "SE": {"gmail.com": 40, "hotmail.com": 20, "telia.com": 10, "outlook.com": 8, "yahoo.se": 6,
           "live.se": 6, "icloud.com": 5, "bredband.net": 5},
    "US": {"gmail.com": 45, "yahoo.com": 15, "hotmail.com": 8, "outlook.com": 8, "icloud.com": 8,
           "aol.com": 5, "comcast.net": 4, "msn.com": 3, "att.net": 2, "verizon.net": 2},
}
DEFAULT_FREE_MAIL = {"gmail.com": 45, "hotmail.com": 15, "yahoo.com": 12, "outlook.com": 12,
                     "icloud.com": 8, "mail.com": 5, "aol.com": 3}
# fmt: on

# User-name shapes and how often people pick them; `#` is a number (a two-digit or a birth-year-like
# four-digit one). `f`/`l` are the first/last name, `i`/`k` their initials.
USERNAME_SHAPES: dict[str, float] = {
    "f.l": 30, "fl": 10, "f_l": 5, "il": 10, "i.l": 7, "l.f": 5, "f.l#": 8, "f#": 8, "l#": 5, "f.k": 4,
    "f-l": 3, "lf": 2,
}  # fmt: skip
_SHAPE_NAMES = list(USERNAME_SHAPES)
_SHAPE_P = np.array(list(USERNAME_SHAPES.values()), dtype=float) / sum(USERNAME_SHAPES.values())

# Letters a language spells out in ASCII differently from a plain accent strip.
_SPELLED_OUT = {
    "de": {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"},
    "da": {"æ": "ae", "ø": "oe", "å": "aa"},
    "nb": {"æ": "ae", "ø": "oe", "å": "aa"},
    "no": {"æ": "ae", "ø": "oe", "å": "aa"},
}
_NOT_LETTER = re.compile(r"[^a-z]+")
FALLBACK_TOKEN = "user"


@lru_cache(maxsize=1 << 16)
def ascii_token(token: str, language: str) -> str:
    """A name token as the letters a user name would use: lower case ASCII a-z only."""
    text = token.lower()
    for letter, spelled in _SPELLED_OUT.get(language, {}).items():
        text = text.replace(letter, spelled)
    return _NOT_LETTER.sub("", anyascii(text).lower())


def _ascii_tokens(tokens: np.ndarray, language: str) -> np.ndarray:
    """Transliterate each distinct token once (a locale has a few thousand names, not one per row)."""
    encoded = pc.dictionary_encode(pa.array(tokens, type=pa.string()))
    words = [ascii_token(w, language) if w is not None else "" for w in encoded.dictionary.to_pylist()]
    indices = encoded.indices.fill_null(len(words)).to_numpy(zero_copy_only=False)
    return np.array([*words, ""], dtype=_TEXT)[indices]


def split_name(names: np.ndarray, last_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """First and last token of each name (`last_first` swaps them); a one-word name is both."""
    arr = pa.array(names, type=pa.string(), from_pandas=True)
    parts = pc.extract_regex(arr, r"^\s*(?P<a>\S+)(?:.*\s(?P<b>\S+))?\s*$")
    a = pc.struct_field(parts, "a")
    b = pc.coalesce(pc.struct_field(parts, "b"), a)
    first, last = (b, a) if last_first else (a, b)
    return first.to_numpy(zero_copy_only=False), last.to_numpy(zero_copy_only=False)


def _cjk_parts(names: np.ndarray, first_len: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Names written without a space (Chinese, Korean): family name first, given name after."""
    text = pa.array(names, type=pa.string(), from_pandas=True)
    last = pc.utf8_slice_codeunits(text, 0, first_len)
    first = pc.utf8_slice_codeunits(text, first_len)
    return first.to_numpy(zero_copy_only=False), last.to_numpy(zero_copy_only=False)


def name_parts(sources: list[np.ndarray], locale: str) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) raw name parts from the `from` columns: two columns are first and last name; one
    column is a full name split the locale's way."""
    if len(sources) == 2:
        return sources[0], sources[1]
    form = layout(locale)
    if form.sep == "":
        return _cjk_parts(sources[0])
    return split_name(sources[0], form.last_first)


def _digits(u: np.ndarray) -> np.ndarray:
    """Half two-digit numbers (00-99), half birth-year-like ones (1955-2006)."""
    v = (u * 1_000_000).astype(np.int64)
    two = np.strings.zfill((v % 100).astype(_TEXT), 2)
    year = (1955 + v % 52).astype(_TEXT)
    return np.where(u < 0.5, two, year).astype(_TEXT)


def user_names(
    first: np.ndarray, last: np.ndarray, u_shape: np.ndarray, u_digits: np.ndarray, code: np.ndarray | None
) -> np.ndarray:
    """Compose user names from ASCII first/last tokens; `code` (unique columns) replaces the optional
    number with one every row carries."""
    first = np.where(np.strings.str_len(first) > 0, first, last).astype(_TEXT)
    last = np.where(np.strings.str_len(last) > 0, last, first).astype(_TEXT)
    first = np.where(np.strings.str_len(first) > 0, first, FALLBACK_TOKEN).astype(_TEXT)
    last = np.where(np.strings.str_len(last) > 0, last, FALLBACK_TOKEN).astype(_TEXT)
    parts = {"f": first, "l": last, "i": np.strings.slice(first, 0, 1), "k": np.strings.slice(last, 0, 1)}
    cum = np.cumsum(_SHAPE_P)
    cum[-1] = 1.0
    shape = np.searchsorted(cum, u_shape, side="right")
    number = code if code is not None else _digits(u_digits)
    out = np.empty(first.size, dtype=_TEXT)
    for s, spec in enumerate(_SHAPE_NAMES):
        rows = np.flatnonzero(shape == s)
        if rows.size == 0:
            continue
        acc: np.ndarray = np.full(rows.size, "", dtype=_TEXT)
        for ch in spec.rstrip("#"):
            acc = np.strings.add(acc, parts[ch][rows] if ch in parts else ch)
        if spec.endswith("#") or code is not None:
            acc = np.strings.add(acc, number[rows])
        out[rows] = acc
    return out


def _weighted_pick(options: Mapping[str, float], u: np.ndarray) -> np.ndarray:
    names = np.array(list(options), dtype=_TEXT)
    cum = np.cumsum(np.array(list(options.values()), dtype=float))
    cum /= cum[-1]
    cum[-1] = 1.0
    return names[np.searchsorted(cum, u, side="right")]


def country_of(locale: str) -> str:
    return locale.partition("_")[2].upper()


def domains(
    method: str, args: dict, locale: str, seed: int, u_kind: np.ndarray, u_pick: np.ndarray
) -> np.ndarray:
    """A domain per row for rows of one locale."""
    n = u_pick.size
    if args.get("domain"):
        return np.full(n, str(args["domain"]).lower(), dtype=_TEXT)
    if method == "safe_email" or args.get("safe"):
        return np.array(SAFE_DOMAINS, dtype=_TEXT)[(u_pick * len(SAFE_DOMAINS)).astype(np.int64)]
    free = _weighted_pick(FREE_MAIL.get(country_of(locale), DEFAULT_FREE_MAIL), u_pick)
    if method == "free_email":
        return free
    work = pool_for("domain_name", None, locale, seed, size=WORK_DOMAINS).values
    work = work[(u_pick * work.size).astype(np.int64)].astype(_TEXT)
    if method == "company_email":
        return work
    return np.where(u_kind < WORK_SHARE, work, free).astype(_TEXT)


def emails(
    method: str,
    args: dict | None,
    people: People | list[np.ndarray],
    locales: np.ndarray,
    groups: list[str],
    seed: int,
    rng: np.random.Generator,
    unique_rows: tuple[np.ndarray, int] | None = None,
) -> np.ndarray:
    """Addresses for rows whose locale is `groups[locales[i]]`, built from `people` (drawn names) or
    from the `from` columns' values. `unique_rows` = (global row numbers, table rows) for unique ones."""
    args = dict(args or {})
    n = locales.size
    u = rng.random((4, n))
    first = np.empty(n, dtype=_TEXT)
    last = np.empty(n, dtype=_TEXT)
    domain: np.ndarray = np.empty(n, dtype=_TEXT)
    for g, loc in enumerate(groups):
        rows = np.flatnonzero(locales == g)
        if rows.size == 0:
            continue
        if isinstance(people, People):
            raw_first, raw_last = people.first[rows], people.last[rows]
        else:
            raw_first, raw_last = name_parts([s[rows] for s in people], loc)
        language = loc.partition("_")[0]
        first[rows] = _ascii_tokens(raw_first, language)
        last[rows] = _ascii_tokens(raw_last, language)
        domain[rows] = domains(method, args, loc, seed, u[2, rows], u[3, rows])
    code = None
    if unique_rows is not None:
        row_numbers, total = unique_rows
        code = (row_permutation(row_numbers, total, seed) + 1).astype(_TEXT)
    names: np.ndarray = user_names(first, last, u[0], u[1], code)
    if method == "user_name":
        return names.astype(object)
    return np.strings.add(np.strings.add(names, "@"), domain).astype(object)
