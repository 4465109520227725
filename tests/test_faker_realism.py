"""Faker values that look real: names of the row's locale without titles, realistic repeat rates,
emails built from the row's own name at providers of its country, local company legal forms."""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from datagen.dsl import check
from datagen.faker_pool.emails import FREE_MAIL
from tests.engine.conftest import col, entity, fact, generate, one_table, schema, values
from tests.faker_helpers import fk

COUNTRIES = ["DE", "FR", "PL", "IT", "GB", "ES", "SE"]
NAMES = ["Jürgen Großmann", "Łucja Wąsowska", "Zoë Lefèvre"]


def _provider(kind: str, locale: str) -> type:
    return importlib.import_module(f"faker.providers.{kind}.{locale}").Provider


def _people(rows: int, countries: list[str] = COUNTRIES, method: str = "email", **email: object) -> dict:
    return one_table(
        [
            col("country", "string", {"choice": {"choices": countries}}),
            # declared before its source on purpose: order comes from the reference
            fk("email", method, source="full_name", locale_from="country", **email),
            col("full_name", "string", {"faker": {"method": "name", "locale_from": "country"}}),
        ],
        rows=rows,
    )  # fmt: skip


def _ascii_words(name: str) -> set[str]:
    """The name's words in ASCII, spelled the German way (ü→ue) and the plain way (ü→u): an
    independent reading of what a user name may contain."""
    out = set()
    for spelled in (True, False):
        text = name.lower()
        if spelled:
            for a, b in {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}.items():
                text = text.replace(a, b)
        text = text.replace("ł", "l").replace("ß", "ss")
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        out |= {w for w in re.split(r"[^a-z]+", text) if len(w) >= 2}
    return out


def _holds_name(email: str, name: str) -> bool:
    local = email.split("@")[0]
    return any(w in local for w in _ascii_words(name))


# --- emails from names -------------------------------------------------------------------------------


@pytest.mark.parametrize("unique", [False, True])
def test_emails_built_from_the_rows_name_hold_that_name_in_every_locale(unique: bool) -> None:
    t = generate(_people(2000, unique=unique), block_rows=256)["t"]
    country, name, email = values(t, "country"), values(t, "full_name"), values(t, "email")
    for c in COUNTRIES:
        rows = country == c
        held = np.mean([_holds_name(e, n) for e, n in zip(email[rows], name[rows], strict=True)])
        assert held >= 0.9, (c, held)
    assert all(re.fullmatch(r"[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+", e) for e in email)


def test_email_user_names_are_transliterated_to_ascii() -> None:
    doc = one_table(
        [
            col("full_name", "string", {"choice": {"choices": NAMES}}),
            col("country", "string", {"choice": {"choices": ["DE"]}}),
            fk("email", "email", source="full_name", locale_from="country"),
        ],
        rows=300,
    )  # fmt: skip
    t = generate(doc)["t"]
    local: dict[str, set[str]] = {n: set() for n in NAMES}
    for n, e in zip(values(t, "full_name"), values(t, "email"), strict=True):
        local[n].add(e.split("@")[0])
    assert all(e.isascii() for e in values(t, "email"))
    assert any("grossmann" in u for u in local["Jürgen Großmann"])
    assert any("juergen" in u for u in local["Jürgen Großmann"])
    assert any("wasowska" in u for u in local["Łucja Wąsowska"])
    assert any("lefevre" in u for u in local["Zoë Lefèvre"])


def test_email_domains_fit_the_rows_country() -> None:
    t = generate(_people(3000, method="free_email"))["t"]
    country, email = values(t, "country"), values(t, "email")
    domain = np.array([e.split("@")[1] for e in email])
    for c in COUNTRIES:
        seen = Counter(domain[country == c])
        assert set(seen) <= set(FREE_MAIL[c]), c
    # country providers show up where they belong and nowhere else
    assert {"gmx.de", "web.de"} <= set(domain[country == "DE"])
    assert {"orange.fr", "wp.pl", "libero.it"}.isdisjoint(domain[country == "DE"])
    assert "wp.pl" in set(domain[country == "PL"])


def test_email_domain_and_safe_arguments() -> None:
    fixed = generate(_people(200, args={"domain": "acme.com"}))["t"]
    assert {e.split("@")[1] for e in values(fixed, "email")} == {"acme.com"}
    safe = generate(_people(200, args={"safe": True}))["t"]
    assert {e.split("@")[1] for e in values(safe, "email")} <= {"example.com", "example.org", "example.net"}


def test_email_from_first_and_last_name_columns() -> None:
    doc = one_table(
        [
            col("first_name", "string", {"faker": {"method": "first_name", "locale": "fr_FR"}}),
            col("last_name", "string", {"faker": {"method": "last_name", "locale": "fr_FR"}}),
            fk("full_name", "name", source=["first_name", "last_name"], locale="fr_FR"),
            fk("email", "email", source=["first_name", "last_name"], locale="fr_FR"),
        ],
        rows=500,
    )  # fmt: skip
    t = generate(doc)["t"]
    first, last, full = values(t, "first_name"), values(t, "last_name"), values(t, "full_name")
    assert list(full) == [f"{a} {b}" for a, b in zip(first, last, strict=True)]
    held = np.mean([_holds_name(e, n) for e, n in zip(values(t, "email"), full, strict=True)])
    assert held >= 0.9


def test_unique_emails_from_names_are_unique_across_blocks_and_keep_the_name() -> None:
    # one country, few names: many rows share a full name, so uniqueness rests on the suffix
    t = generate(_people(6000, countries=["PL"], unique=True), block_rows=128)["t"]
    email, name = values(t, "email"), values(t, "full_name")
    assert len(set(email)) == len(email)
    assert len(set(name)) < len(name)
    assert all(_holds_name(e, n) for e, n in zip(email, name, strict=True))


def test_plain_email_uses_a_locale_name_and_domain() -> None:
    """Without `from`, an address still belongs to a (drawn) person of the row's locale."""
    doc = one_table(
        [
            col("country", "string", {"choice": {"choices": ["DE"]}}),
            col("email", "string", {"faker": {"method": "email", "locale_from": "country"}}),
        ],
        rows=500,
    )
    email = values(generate(doc)["t"], "email")
    p = _provider("person", "de_DE")
    german = {w for n in (*p.first_names, *p.last_names) for w in _ascii_words(n) if len(w) >= 3}
    local, domain = zip(*(e.split("@") for e in email), strict=True)
    assert np.mean([any(w in u for w in german) for u in local]) > 0.95
    assert np.mean([d in FREE_MAIL["DE"] for d in domain]) > 0.85


# --- names -------------------------------------------------------------------------------------------


def _composable(name: str, firsts: set[str], lasts: set[str]) -> bool:
    words = name.split(" ")
    return any(" ".join(words[:i]) in firsts and " ".join(words[i:]) in lasts for i in range(1, len(words)))


def _name_sets(locale: str) -> tuple[set[str], set[str]]:
    p = _provider("person", locale)
    firsts = {*p.first_names, *getattr(p, "first_names_male", ()), *getattr(p, "first_names_female", ())}
    lasts = {*p.last_names, *getattr(p, "last_names_male", ()), *getattr(p, "last_names_female", ())}
    return firsts, lasts


@pytest.mark.parametrize("locale,country", [("de_DE", "DE"), ("fr_FR", "FR"), ("it_IT", "IT")])
def test_names_follow_the_rows_locale(locale: str, country: str) -> None:
    people = [
        col("country", "string", {"choice": {"choices": [country, "US"]}}),
        col("full_name", "string", {"faker": {"method": "name", "locale_from": "country"}}),
    ]
    doc = schema(
        entity("p", people, rows=600),
        fact("visit", ["p"], people, fanout={"distribution": "poisson", "lambda": 1}),
    )
    for table in generate(doc, block_rows=64).values():
        country_of, name = values(table, "country"), values(table, "full_name")
        local, us = _name_sets(locale), _name_sets("en_US")
        mine = name[country_of == country]
        assert mine.size > 100
        assert all(_composable(n, *local) for n in mine)
        # US rows are US names, and the local rows are not US names
        assert all(_composable(n, *us) for n in name[country_of == "US"])
        assert np.mean([_composable(n, *us) for n in mine]) < 0.2


def test_unknown_locale_codes_fall_back_to_en_us() -> None:
    doc = one_table(
        [
            col("country", "string", {"choice": {"choices": ["XX", "", "Atlantis"]}}),
            col("full_name", "string", {"faker": {"method": "name", "locale_from": "country"}}),
        ],
        rows=200,
    )
    names = values(generate(doc)["t"], "full_name")
    assert all(_composable(n, *_name_sets("en_US")) for n in names)


@pytest.mark.parametrize("locale", ["en_US", "de_DE", "cs_CZ", "pl_PL"])
def test_names_carry_no_titles_unless_asked(locale: str) -> None:
    p = _provider("person", locale)
    titles = {
        *getattr(p, "prefixes_male", ()),
        *getattr(p, "prefixes_female", ()),
        *getattr(p, "prefixes", ()),
        *getattr(p, "suffixes_male", ()),
        *getattr(p, "suffixes_female", ()),
        *getattr(p, "suffixes", ()),
    }
    assert titles

    def words(titled: bool) -> list[set[str]]:
        args = {"titles": True} if titled else {}
        doc = one_table(
            [col("n", "string", {"faker": {"method": "name", "locale": locale, "args": args}})], rows=800
        )
        return [set(n.split(" ")) for n in values(generate(doc)["t"], "n")]

    assert not any(w & titles for w in words(False))
    assert np.mean([bool(w & titles) for w in words(True)]) > 0.9


def _shared_name_rate(locale: str, rows: int) -> float:
    doc = one_table([col("n", "string", {"faker": {"method": "name", "locale": locale}})], rows=rows)
    counts = Counter(values(generate(doc, block_rows=512)["t"], "n"))
    return sum(c for c in counts.values() if c > 1) / rows


@pytest.mark.parametrize("locale", ["en_US", "de_DE", "en_GB"])
def test_repeated_full_names_occur_at_a_population_rate(locale: str) -> None:
    """3,000 people of one country: a few percent at most share a full name, as faker's name lists of
    the country imply (en_GB's short first-name list gives about 5 %), not a third as sampling a
    4,096-name pool did; and more people share more."""
    small, large = _shared_name_rate(locale, 3000), _shared_name_rate(locale, 30000)
    assert 0.0005 <= small <= 0.08, small
    assert large > small


@pytest.mark.parametrize(
    "method,lists", [("name_female", "last_names_female"), ("name_male", "last_names_male")]
)
def test_gendered_surnames_agree_with_the_first_name(method: str, lists: str) -> None:
    doc = one_table([col("n", "string", {"faker": {"method": method, "locale": "cs_CZ"}})], rows=400)
    lasts = [n.split(" ")[-1] for n in values(generate(doc)["t"], "n")]
    assert set(lasts) <= set(getattr(_provider("person", "cs_CZ"), lists))


def test_unique_names_are_unique_and_untitled() -> None:
    doc = one_table(
        [col("n", "string", {"faker": {"method": "name", "locale": "en_US", "unique": True}})], rows=3000
    )
    names = values(generate(doc, block_rows=256)["t"], "n")
    assert len(set(names)) == len(names)
    assert not any(n.startswith(("Mr.", "Mrs.", "Ms.", "Dr.", "Miss")) for n in names)


# --- companies, addresses and other methods follow the locale ----------------------------------------


@pytest.mark.parametrize(
    "locale,country,foreign",
    [("de_DE", "DE", ("Inc", "LLC", "Ltd", "PLC", "SARL")), ("fr_FR", "FR", ("Inc", "LLC", "GmbH", "AG"))],
)
def test_company_legal_forms_follow_the_rows_country(locale: str, country: str, foreign: tuple) -> None:
    doc = one_table(
        [
            col("country", "string", {"choice": {"choices": [country, "US"]}}),
            col("company", "string", {"faker": {"method": "company", "locale_from": "country"}}),
            col("city", "string", {"faker": {"method": "city", "locale_from": "country"}}),
        ],
        rows=800,
    )
    t = generate(doc)["t"]
    mine = values(t, "company")[values(t, "country") == country]
    suffixes = tuple(_provider("company", locale).company_suffixes)
    assert np.mean([c.endswith(suffixes) for c in mine]) > 0.3
    assert not any(c.endswith(foreign) for c in mine)
    us = values(t, "company")[values(t, "country") == "US"]
    assert np.mean([c.endswith(tuple(_provider("company", "en_US").company_suffixes)) for c in us]) > 0.3


def test_unique_values_follow_the_rows_locale_and_stay_unique() -> None:
    doc = one_table(
        [
            col("country", "string", {"choice": {"choices": ["DE", "FR"]}}),
            fk("phone", "phone_number", locale_from="country", unique=True),
        ],
        rows=3000,
    )  # fmt: skip
    t = generate(doc, block_rows=256)["t"]
    phone, country = values(t, "phone"), values(t, "country")
    assert len(set(phone)) == len(phone)
    # French numbers start with +33 or 0; German ones never with +33
    fr = phone[country == "FR"]
    assert np.mean([p.startswith(("+33", "0")) for p in fr]) > 0.95
    assert not any(p.startswith("+33") for p in phone[country == "DE"])


# --- the schema check --------------------------------------------------------------------------------


def _errors(columns: list[dict]) -> list[str]:
    result = check(one_table(columns))
    return [f"{i.path}: {i.message}" for i in result.errors]


NAME = col("full_name", "string", {"faker": {"method": "name"}})


@pytest.mark.parametrize(
    "generator,expected",
    [
        ({"method": "email", "from": "fullname"}, "no column 'fullname'; did you mean 'full_name'"),
        ({"method": "email", "from": "age"}, "'age' is int"),
        ({"method": "email", "from": "email"}, "cannot be built from itself"),
        ({"method": "city", "from": "full_name"}, "not built from other columns"),
        ({"method": "name", "from": "full_name"}, "a first-name and a last-name column"),
        ({"method": "email", "from": ["full_name", "full_name"]}, "a full-name column"),
        ({"method": "name", "from": ["full_name", "age"], "unique": True}, "drop 'unique'"),
    ],
)
def test_the_checker_explains_a_bad_from(generator: dict, expected: str) -> None:
    age = col("age", "int", {"distribution": {"type": "uniform", "params": {"low": 1, "high": 9}}})
    errors = _errors([NAME, age, col("email", "string", {"faker": generator})])
    assert any(expected in e and ".from" in e for e in errors), errors


def test_the_checker_accepts_from_and_own_arguments() -> None:
    assert _errors([NAME, fk("email", "email", source="full_name", args={"safe": True})]) == []
    assert _errors([col("n", "string", {"faker": {"method": "name", "args": {"titles": True}}})]) == []
    bad = _errors([col("n", "string", {"faker": {"method": "name", "args": {"titles": "yes"}}})])
    assert any("true or false" in e for e in bad)
    bad = _errors(
        [NAME, col("e", "string", {"faker": {"method": "email", "args": {"domain": "not a domain"}}})]
    )
    assert any("must be a domain" in e for e in bad)


def test_from_orders_the_column_after_its_source_whatever_the_declared_order() -> None:
    t = generate(_people(50))["t"]
    assert t.column_names == ["id", "country", "email", "full_name"]
    assert isinstance(t.column("email").type, pa.DataType)


def test_names_and_emails_do_not_depend_on_the_chunk_size() -> None:
    doc = _people(3000, unique=True)
    base = generate(doc, block_rows=128, chunk_rows=128)["t"]
    for chunk_rows in (384, 10_000):
        assert generate(doc, block_rows=128, chunk_rows=chunk_rows)["t"].equals(base)
