"""Values that come from other rows (docs/schema-language.md §4.1 `lookup`, `choices_ref`): the primary
parent's row, a real join on `on`, one random row per extra parent shared by every column reading it, a
random row of the parent table other than the row's own parent, and self-references that form a tree of
earlier rows (on a key: of earlier rows with the same key)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from datagen.dsl.references import found_by_value
from datagen.errors import GenerationError
from tests.engine.conftest import (
    assert_near,
    checked,
    col,
    dist,
    entity,
    fact,
    generate,
    key,
    lookup,
    one_table,
    schema,
    times,
    values,
)

PRODUCTS = 200


@pytest.fixture(scope="module")
def shop() -> dict[str, pa.Table]:
    customers = entity(
        "customer",
        [col("tier", "string", {"choice": {"choices": ["gold", "silver", "bronze"]}}), times("signup_at")],
        rows=2000,
    )
    products = entity(
        "product",
        [
            col(
                "sku",
                "string",
                {"faker": {"method": "bothify", "args": {"text": "SKU-#####"}, "unique": True}},
            ),
            col("name", "string", {"faker": {"method": "word"}}),
            dist("price", "lognormal", mean=3, sigma=0.8),
        ],
        rows=PRODUCTS,
    )
    items = fact(
        "item",
        ["customer", "product"],
        [
            lookup("customer_tier", "customer.tier", type_="string"),
            lookup("customer_signup", "customer.signup_at", type_="datetime"),
            lookup("sku", "product.sku", type_="string"),
            lookup("product_name", "product.name", type_="string"),
            lookup("unit_price", "product.price", type_="float", on={"product_id": "id"}),
            lookup("price_by_sku", "product.price", type_="float", on={"sku": "sku"}),
        ],
        fanout={"distribution": "poisson", "lambda": 10},
    )
    return generate(schema(customers, products, items), block_rows=512)


def test_lookup_on_is_a_real_join(shop: dict[str, pa.Table]) -> None:
    item, product = shop["item"], shop["product"]
    price = values(product, "price")[values(item, "product_id") - 1]
    np.testing.assert_array_equal(values(item, "unit_price"), price)
    np.testing.assert_array_equal(values(item, "price_by_sku"), price)  # joined on a text key
    assert item.column("unit_price").null_count == 0


def test_lookups_into_the_primary_parent_give_that_parents_values(shop: dict[str, pa.Table]) -> None:
    item, customer = shop["item"], shop["customer"]
    row = values(item, "customer_id") - 1
    assert (values(item, "customer_tier") == values(customer, "tier")[row]).all()
    assert (values(item, "customer_signup") == values(customer, "signup_at")[row]).all()
    assert item.schema.field("customer_signup").type == customer.schema.field("signup_at").type


def test_an_extra_parent_is_one_random_row_shared_by_every_column_reading_it(
    shop: dict[str, pa.Table],
) -> None:
    item, product = shop["item"], shop["product"]
    row = values(item, "product_id") - 1
    assert (values(item, "sku") == values(product, "sku")[row]).all()
    assert (values(item, "product_name") == values(product, "name")[row]).all()
    per_product = np.bincount(row, minlength=PRODUCTS)  # uniform over existing rows
    n, p = item.num_rows, 1 / PRODUCTS
    assert per_product.min() > 0
    assert_near(per_product.max() / n, p, math.sqrt(p * (1 - p) / n), k=6)  # the largest of 200 cells
    assert_near(per_product.min() / n, p, math.sqrt(p * (1 - p) / n), k=6)


def test_a_join_without_a_matching_row_gives_null() -> None:
    codes = {
        "id": "code",
        "kind": "vocab",
        "pk": "code",
        "columns": [
            col("code", "string", {"enum_list": {"values": ["a", "b"]}}),
            col("label", "string", {"enum_list": {"values": ["Alpha", "Beta"]}}),
            col("rank", "int", {"enum_list": {"values": [1, 2]}}),
        ],
    }
    rows = entity(
        "t",
        [
            col("code", "string", {"choice": {"choices": ["a", "b", "zzz"]}}),
            lookup("label", "code.label", type_="string", on={"code": "code"}, nullable=True),
            lookup("rank", "code.rank", on={"code": "code"}, nullable=True),
        ],
        rows=600,
    )
    t = generate(schema(codes, rows), block_rows=64)["t"]
    code = values(t, "code")
    assert t.column("label").to_pylist() == [{"a": "Alpha", "b": "Beta"}.get(c) for c in code]
    assert t.column("rank").to_pylist() == [{"a": 1, "b": 2}.get(c) for c in code]
    assert t.schema.field("rank").type == pa.int64()  # an int with nulls stays an int


def test_a_join_without_a_matching_row_in_a_column_that_is_not_nullable_names_the_key() -> None:
    """Said at the lookup, with a key that found nothing, not later by a column computed from it."""
    codes = entity("code", [dist("weight", "uniform", low=1, high=2)], rows=3)
    rows = entity(
        "t",
        [
            col("code_id", "int", {"choice": {"choices": [1, 2, 3, 4]}}),
            lookup("weight", "code.weight", type_="float", on={"code_id": "id"}, output=False),
            col("double", "float", {"expression": {"code": "weight * 2"}}),
        ],
        rows=200,
    )
    with pytest.raises(
        GenerationError, match=r"row\(s\) have no 'code' row to join \(e.g. the row with code_id = 4\)"
    ):
        generate(schema(codes, rows))


def weather(rows: int = 31) -> dict:
    """Meters read every 6 hours in March; each reading joins its day's weather by day(read_at), a key
    the reading makes itself — so the weather table is a key space, unlike the meters."""
    days = {
        "id": "weather",
        "kind": "entity",
        "pk": "day",
        "rows": rows,
        "columns": [key("day"), dist("temp", "normal", mean=6, std=4)],
    }
    meters = entity("meter", [dist("base", "uniform", low=1, high=2)], rows=200)
    readings = fact(
        "reading",
        ["meter"],
        [
            times("read_at", slot=True),
            col("day", "int", {"expression": {"code": "day(read_at)"}}),
            lookup("temp", "weather.temp", type_="float", on={"day": "day"}),
            lookup("base", "meter.base", type_="float", on={"meter_id": "id"}),
        ],
        fanout={"every": "6h"},
    )
    return schema(
        days, meters, readings, timeframe={"start": "2024-03-01T00:00:00Z", "end": "2024-04-01T00:00:00Z"}
    )


@pytest.mark.parametrize("options", [{"scale": 0.1}, {"sample": 10}], ids=["scale", "sample"])
def test_a_table_found_by_a_key_the_row_makes_keeps_its_rows_at_any_scale_or_sample(options: dict) -> None:
    tables = generate(weather(), **options)
    assert tables["weather"].num_rows == 31  # every day of March, whatever the scale
    assert tables["meter"].num_rows == 20 if "scale" in options else 10  # meters are found by a copied key
    assert tables["reading"].column("temp").null_count == 0
    assert found_by_value(checked(weather())) == {"weather"}


def test_a_table_found_by_a_code_carried_from_a_vocab_keeps_its_rows_at_any_scale() -> None:
    """Each grade's teacher is a random teacher of its subject; the subject is drawn from a vocab (never
    scaled), here carried through the student, so fewer teachers would leave subjects with none."""
    subjects = {
        "id": "subject",
        "kind": "vocab",
        "pk": "code",
        "columns": [col("code", "string", {"enum_list": {"values": [str(i) for i in range(11)]}})],
    }
    teachers = entity("teacher", [col("code", "string", {"expression": {"code": "str(id % 11)"}})], rows=44)
    students = entity(
        "student", [col("code", "string", {"choice": {"choices_ref": "subject.code"}})], rows=400
    )
    grades = fact(
        "grade",
        ["student"],
        [
            lookup("code", "student.code", type_="string"),
            lookup("teacher_id", "teacher.id", type_="int", on={"code": "code"}, pick="random"),
        ],
        fanout={"count": 3},
    )
    doc = schema(subjects, teachers, students, grades)
    assert found_by_value(checked(doc)) == {"teacher"}
    tables = generate(doc, scale=0.1)
    assert tables["teacher"].num_rows == 44 and tables["student"].num_rows == 40


def test_a_fact_found_by_a_computed_key_keeps_its_parents_whole_at_any_scale() -> None:
    """Each match's away team is computed from its number, so the away team's players are found by a
    key the match makes: 16 teams at --scale 0.1 would leave matches against teams that do not exist."""
    teams = entity("team", [dist("strength", "uniform", low=0, high=1)], rows=16)
    players = fact("player", ["team"], [], fanout={"count": 11})
    matches = entity(
        "match",
        [
            col("away_id", "int", {"expression": {"code": "id % 16 + 1"}}),
            lookup("keeper_id", "player.id", on={"away_id": "team_id"}, pick="random"),
        ],
        rows=200,
    )
    doc = schema(teams, players, matches)
    assert found_by_value(checked(doc)) == {"player", "team"}
    tables = generate(doc, scale=0.1)
    assert (
        tables["team"].num_rows == 16 and tables["player"].num_rows == 176 and tables["match"].num_rows == 20
    )
    assert tables["match"].column("keeper_id").null_count == 0


def test_a_scale_shrinks_a_small_table_to_one_row_never_to_none() -> None:
    """4 regions at --scale 0.1 would round to 0, and every household's region would then be missing."""
    regions = entity("region", [dist("size", "uniform", low=1, high=2)], rows=4)
    homes = entity("home", [lookup("region_id", "region.id", type_="int")], rows=1000)
    tables = generate(schema(regions, homes), scale=0.1)
    assert tables["region"].num_rows == 1 and tables["home"].num_rows == 100
    assert tables["home"].column("region_id").to_pylist() == [1] * 100


def test_choices_ref_draws_from_the_referenced_column() -> None:
    vocab = {
        "id": "colour",
        "kind": "vocab",
        "pk": "name",
        "columns": [col("name", "string", {"enum_list": {"values": ["red", "green", "blue"]}})],
    }
    n = 20_000
    rows = entity(
        "t",
        [
            col("colour", "string", {"choice": {"choices_ref": "colour.name", "weights_kind": "zipf@1"}}),
            col("weighted", "string", {"choice": {"choices_ref": "colour.name", "weights": [0, 1, 3]}}),
        ],
        rows=n,
    )
    t = generate(schema(vocab, rows))["t"]
    p = np.array([1, 1 / 2, 1 / 3]) / (1 + 1 / 2 + 1 / 3)  # Zipf ranks follow the source's order
    colour = values(t, "colour")
    for name, share in zip(["red", "green", "blue"], p, strict=True):
        assert_near((colour == name).mean(), share, math.sqrt(share * (1 - share) / n))
    weighted = values(t, "weighted")
    assert set(weighted) == {"green", "blue"}
    assert_near((weighted == "blue").mean(), 0.75, math.sqrt(0.75 * 0.25 / n))


def test_choices_ref_from_an_entity_column_uses_its_distinct_values() -> None:
    people = entity("person", [col("city", "string", {"faker": {"method": "city"}})], rows=50)
    visits = entity("visit", [col("city", "string", {"choice": {"choices_ref": "person.city"}})], rows=3000)
    tables = generate(schema(people, visits))
    cities = set(values(tables["person"], "city"))
    assert set(values(tables["visit"], "city")) == cities  # every distinct city drawn, nothing else


# --- self-reference ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["int", "string"])
def test_self_reference_is_a_tree_of_earlier_rows(key_type: str) -> None:
    rows = 1000
    doc = one_table([lookup("manager_id", "t.id", type_=key_type, nullable=True)], rows=rows)
    doc["nodes"][0]["columns"][0] = key("id", start=10, step=3, type_=key_type)
    t = generate(doc, block_rows=64)["t"]
    ids = [int(v) for v in t.column("id").to_pylist()]
    managers = t.column("manager_id").to_pylist()
    assert ids == list(range(10, 10 + 3 * rows, 3))
    assert managers[0] is None and None not in managers[1:]  # only the first row is a root
    boss = np.array([-1] + [(int(m) - 10) // 3 for m in managers[1:]])  # the row each row points at
    assert all(str(m) == str(10 + 3 * b) for m, b in zip(managers[1:], boss[1:], strict=True))
    rows_idx = np.arange(rows)
    assert (boss[1:] < rows_idx[1:]).all() and (boss[1:] >= 0).all()  # earlier rows: no loops, no cycles
    # A uniformly drawn earlier row: boss / row averages about one half.
    late = rows_idx >= 100
    assert_near((boss[late] / rows_idx[late]).mean(), 0.5, math.sqrt(1 / 12 / late.sum()))
    if key_type == "int":
        assert t.schema.field("manager_id").type == pa.int64()


@pytest.mark.parametrize("key_type", ["int", "string"])
def test_a_self_reference_on_a_key_picks_an_earlier_row_with_the_same_key(key_type: str) -> None:
    """A manager in the same department: each row points at a uniformly drawn earlier row whose
    department equals its own; the first row of each department is a root (null), every other row has
    a manager. Small blocks: the earlier row is often in an earlier block."""
    rows = 3000
    dept = col(
        "dept", "string", {"choice": {"choices": ["a", "b", "c", "d", "e"], "weights": [5, 4, 3, 2, 1]}}
    )
    manager = col(
        "manager_id",
        key_type,
        {"lookup": {"from": "t.id", "on": {"dept": "dept"}, "pick": "random"}},
        nullable=True,
    )
    doc = one_table([dept, manager], rows=rows)
    doc["nodes"][0]["columns"][0] = key("id", start=10, step=3, type_=key_type)
    t = generate(doc, block_rows=64)["t"]
    depts = np.asarray(t.column("dept").to_pylist(), dtype=object)
    managers = t.column("manager_id").to_pylist()
    row = np.arange(rows)
    first_of_dept = np.zeros(rows, dtype=bool)
    first_of_dept[np.unique(depts, return_index=True)[1]] = True
    assert [m is None for m in managers] == list(first_of_dept)  # roots: exactly each department's first
    boss = np.array([-1 if m is None else (int(m) - 10) // 3 for m in managers])
    assert all(str(10 + 3 * b) == str(m) for m, b in zip(managers, boss, strict=True) if m is not None)
    has = ~first_of_dept
    assert (boss[has] < row[has]).all() and (depts[boss[has]] == depts[has]).all()
    assert (boss[has] // 64 < row[has] // 64).mean() > 0.9  # most managers sit in an earlier block
    # Uniform among the earlier rows of the department: the picked one's rank / the row's rank ~ U(0, 1).
    rank = np.zeros(rows, dtype=np.int64)
    for d in set(depts):
        rank[depts == d] = np.arange((depts == d).sum())
    late = has & (rank >= 50)
    assert_near((rank[boss[late]] / rank[late]).mean(), 0.5, math.sqrt(1 / 12 / late.sum()))


# --- a random other row of the parent table --------------------------------------------------------


def _calls(subscribers: int, **callee: object) -> dict:
    """Calls born from subscribers; the callee is a random other subscriber, its id and number read
    with "pick": "random". The callee's id comes first, so it is not mistaken for the caller's key."""
    people = entity(
        "subscriber",
        [col("number", "string", {"faker": {"method": "msisdn", "unique": True}})],
        rows=subscribers,
    )
    pick = {"pick": "random"}
    calls = fact(
        "call",
        ["subscriber"],
        [
            col("callee_id", "int", {"lookup": {"from": "subscriber.id", **pick}}, **callee),
            col("callee_number", "string", {"lookup": {"from": "subscriber.number", **pick}}, **callee),
            lookup("caller_number", "subscriber.number", type_="string"),
        ],
        fanout={"distribution": "poisson", "lambda": 20},
    )
    calls["columns"].insert(1, calls["columns"].pop(2))  # callee_id before subscriber_id
    return schema(people, calls)


def test_a_random_pick_of_the_parent_table_is_another_row_shared_by_its_columns() -> None:
    """ "pick": "random" without "on" from the table a row is born from: a uniformly drawn row other
    than its own parent (a callee, never the caller), the same row for every column that picks one."""
    t = generate(_calls(50), block_rows=256)
    number = dict(zip(values(t["subscriber"], "id"), values(t["subscriber"], "number"), strict=True))
    caller, callee = values(t["call"], "subscriber_id"), values(t["call"], "callee_id")
    assert (callee != caller).all()
    assert [number[c] for c in callee] == list(values(t["call"], "callee_number"))  # one row per call
    assert [number[c] for c in caller] == list(values(t["call"], "caller_number"))  # the parent's own
    # Uniform over the 49 others of each caller: subscriber s is expected (calls not by s) / 49 times.
    counts = np.bincount(callee, minlength=51)[1:]
    expected = (len(callee) - np.bincount(caller, minlength=51)[1:]) / 49
    chi2 = float((((counts - expected) ** 2) / expected).sum())
    assert_near(chi2, 49.0, math.sqrt(2 * 49.0))


def test_a_parent_table_of_one_row_has_no_other_row_to_pick() -> None:
    nullable = generate(_calls(1, nullable=True))["call"]
    assert nullable.num_rows > 0 and nullable.column("callee_id").null_count == nullable.num_rows
    with pytest.raises(GenerationError, match="no other 'subscriber' row to pick"):
        generate(_calls(1))
