"""Tables that agree, as the engine makes them (docs/schema-language.md §10.4, §8.5): rollups equal the
aggregates of the children, running values the window over the parent's rows, random picks stay in
scope, conversions follow touches; all of it the same for every chunk size, with blocks small enough
that parents' children straddle them."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datagen.dsl import check
from datagen.engine.generate import Engine, Options, generate_in_memory
from datagen.errors import GenerationError
from datagen.io.dataset import write_dataset
from datagen.io.output import table_files
from datagen.resources import examples_dir

BLOCK = 16  # parents with a dozen children straddle blocks all the time


def col(name: str, type_: str, generator: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "generator": generator, **extra}


def seq(name: str, start: int = 1, step: int = 1) -> dict[str, Any]:
    return col(name, "int", {"sequence": {"start": start, "step": step}})


def doc(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "1.0",
        "metadata": {"name": "relations"},
        "timeframe": {"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
        "nodes": list(nodes),
        "constraints": {},
    }


def shop(**rollups: dict[str, Any]) -> dict[str, Any]:
    """Customers with the given rollups of orders; orders with a rollup of lines and running values."""
    customers = {
        "id": "customers",
        "kind": "entity",
        "pk": "customer_id",
        "rows": 80,
        "columns": [
            seq("customer_id"),
            col("credit", "float", {"distribution": {"type": "uniform", "params": {"low": 0, "high": 50}}}),
        ],
    }
    for name, gen in rollups.items():
        customers["columns"].append(
            col(name, gen.pop("type"), {"rollup": gen}, nullable=gen.pop("nullable", False))
        )
    orders = {
        "id": "orders",
        "kind": "fact",
        "pk": "order_id",
        "parents": ["customers"],
        "fanout": {"distribution": "poisson", "lambda": 12},
        "columns": [
            seq("order_id", start=1000, step=-1),  # keys against row order: ties must go by key
            col("customer_id", "int", {"lookup": {"from": "customers.customer_id"}}),
            col("ordered_on", "date", {"datetime_series": {}}),  # whole days: many ties
            col("channel", "string", {"choice": {"choices": ["web", "app", "store"]}}),
            col(
                "discount",
                "float",
                {"distribution": {"type": "uniform", "params": {"low": 0, "high": 5}}},
                nullable=True,
                null_rate=0.3,
            ),
            col("amount", "float", {"rollup": {"from": "lines.total", "agg": "sum"}}),
            col("units", "int", {"rollup": {"from": "lines.quantity", "agg": "sum"}}),
            col("paid", "float", {"expression": {"code": "amount - 1"}}),
            col(
                "spend",
                "float",
                {"running": {"of": "discount", "order_by": "ordered_on", "start": "customers.credit"}},
            ),
            col("number", "int", {"running": {"of": "order_id", "agg": "count", "order_by": "ordered_on"}}),
            col(
                "best",
                "float",
                {"running": {"of": "discount", "agg": "max", "order_by": "ordered_on"}},
                nullable=True,
            ),
            col(
                "mean",
                "float",
                {"running": {"of": "discount", "agg": "mean", "order_by": "ordered_on"}},
                nullable=True,
            ),
        ],
    }
    lines = {
        "id": "lines",
        "kind": "fact",
        "pk": "line_id",
        "parents": ["orders"],
        "fanout": {"distribution": "poisson", "lambda": 2, "min": 1, "max": 6},
        "columns": [
            seq("line_id"),
            col("order_id", "int", {"lookup": {"from": "orders.order_id"}}),
            col(
                "quantity",
                "int",
                {"distribution": {"type": "poisson", "params": {"lambda": 1.5}, "clamp": [1, 9]}},
            ),
            col(
                "price", "float", {"distribution": {"type": "lognormal", "params": {"mean": 2, "sigma": 0.7}}}
            ),
            col("total", "float", {"expression": {"code": "price * quantity"}}),
        ],
    }
    return doc(customers, orders, lines)


ROLLUPS: dict[str, dict[str, Any]] = {
    "n": {"type": "int", "from": "orders.order_id", "agg": "count"},
    "total": {"type": "float", "from": "orders.amount", "agg": "sum"},
    "web_total": {
        "type": "float",
        "from": "orders.amount",
        "agg": "sum",
        "where": "channel == 'web' and units >= 2",
    },
    "avg_units": {"type": "float", "from": "orders.units", "agg": "mean", "nullable": True},
    "first_on": {"type": "date", "from": "orders.ordered_on", "agg": "min", "nullable": True},
    "last_on": {"type": "datetime", "from": "orders.ordered_on", "agg": "max", "nullable": True},
    "first_channel": {"type": "string", "from": "orders.channel", "agg": "first", "default": "none"},
    "last_order": {
        "type": "int",
        "from": "orders.order_id",
        "agg": "last",
        "order_by": "ordered_on",
        "default": -1,
    },
    "min_discount": {"type": "float", "from": "orders.discount", "agg": "min", "default": 99.0},
}


def generated(document: dict[str, Any], chunk_rows: int = 10_000, seed: int = 7) -> dict[str, pa.Table]:
    schema = check(copy.deepcopy(document)).raise_for_errors()
    return generate_in_memory(schema, Options(seed=seed, chunk_rows=chunk_rows, block_rows=BLOCK))


def sql(tables: dict[str, pa.Table], query: str) -> list[tuple]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in tables.items():
        con.register(name, table)
    return con.execute(query).fetchall()


@pytest.fixture(scope="module")
def shop_tables() -> dict[str, pa.Table]:
    return generated(shop(**copy.deepcopy(ROLLUPS)))


def test_an_order_amount_is_the_sum_of_its_lines(shop_tables: dict[str, pa.Table]) -> None:
    (bad, orders, empty), *_ = sql(
        shop_tables,
        "SELECT count(*) FILTER (WHERE abs(o.amount - l.s) > 1e-9 OR o.units <> l.q OR o.paid <> "
        "o.amount - 1), "
        "count(*), count(*) FILTER (WHERE l.s IS NULL) "
        "FROM orders o LEFT JOIN (SELECT order_id, sum(total) s, sum(quantity) q FROM lines GROUP BY "
        "1) l USING (order_id)",
    )
    assert orders > 1000 and bad == 0 and empty == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("n", "count(o.order_id)"),
        ("total", "coalesce(sum(o.amount), 0)"),
        ("web_total", "coalesce(sum(o.amount) FILTER (WHERE o.channel = 'web' AND o.units >= 2), 0)"),
        ("avg_units", "avg(o.units)"),
        ("first_on", "min(o.ordered_on)"),
        ("last_on", "CAST(max(o.ordered_on) AS TIMESTAMPTZ)"),
        ("first_channel", "coalesce(arg_min(o.channel, (o.ordered_on, o.order_id)), 'none')"),
        ("last_order", "coalesce(arg_max(o.order_id, (o.ordered_on, o.order_id)), -1)"),
        ("min_discount", "coalesce(min(o.discount), 99.0)"),
    ],
)
def test_each_rollup_equals_its_aggregate(shop_tables: dict[str, pa.Table], name: str, expected: str) -> None:
    rows = sql(
        shop_tables,
        f"SELECT c.customer_id, c.{name}, {expected} FROM customers c LEFT JOIN orders o USING (customer_id) "
        f"GROUP BY c.customer_id, c.{name}",
    )
    wrong = [r for r in rows if not (r[1] == r[2] or (isinstance(r[1], float) and abs(r[1] - r[2]) < 1e-9))]
    assert not wrong, wrong[:5]
    assert len({r[1] for r in rows}) > 1


def test_ties_in_first_and_last_go_by_key(shop_tables: dict[str, pa.Table]) -> None:
    """Orders on the same day are told apart by their key, which runs against the row order here."""
    (ties,), *_ = sql(
        shop_tables,
        "SELECT count(*) FROM (SELECT customer_id, ordered_on FROM orders GROUP BY 1, 2 HAVING count(*) > 1)",
    )
    assert ties > 10


def test_running_values_follow_the_parents_rows_in_time(shop_tables: dict[str, pa.Table]) -> None:
    window = (
        "OVER (PARTITION BY o.customer_id ORDER BY o.ordered_on NULLS LAST, o.order_id "
        "ROWS UNBOUNDED PRECEDING)"
    )
    (bad, nulls_before_first), *_ = sql(
        shop_tables,
        f"""SELECT count(*) FILTER (WHERE abs(spend - (credit + coalesce(s, 0))) > 1e-9 OR number <> n
                                  OR best IS DISTINCT FROM b OR abs(coalesce(mean, -1) - coalesce(m, -1))
                                    > 1e-9),
                   count(*) FILTER (WHERE best IS NULL)
            FROM (SELECT o.*, c.credit, sum(o.discount) {window} s, count(o.order_id) {window} n,
                         max(o.discount) {window} b, avg(o.discount) {window} m
                  FROM orders o JOIN customers c USING (customer_id))""",
    )
    assert bad == 0
    assert nulls_before_first > 0  # a customer whose first orders had no discount


def test_chunk_size_never_changes_a_value(shop_tables: dict[str, pa.Table]) -> None:
    again = generated(shop(**copy.deepcopy(ROLLUPS)), chunk_rows=BLOCK)  # the fixture: one chunk
    for name, table in shop_tables.items():
        assert again[name].equals(table), f"{name} differs with a chunk per block"


def test_written_files_are_byte_identical_for_any_chunk_size(tmp_path: Path) -> None:
    document = shop(**copy.deepcopy(ROLLUPS))
    files: list[dict[str, bytes]] = []
    for chunk_rows in (BLOCK, 100_000):
        out = tmp_path / f"c{chunk_rows}"
        write_dataset(
            check(copy.deepcopy(document)), out, Options(seed=3, chunk_rows=chunk_rows, block_rows=BLOCK)
        )
        files.append(
            {f.name: f.read_bytes() for t in ("customers", "orders", "lines") for f in table_files(out, t)}
        )
    assert files[0] == files[1]


def test_a_table_read_after_its_rollup_sees_the_final_values() -> None:
    document = shop()
    document["nodes"].append(
        {
            "id": "refunds",
            "kind": "fact",
            "pk": "refund_id",
            "parents": ["orders"],
            "columns": [
                seq("refund_id"),
                col("order_id", "int", {"lookup": {"from": "orders.order_id"}}),
                col("refunded", "float", {"lookup": {"from": "orders.amount"}}),
            ],
        }
    )
    tables = generated(document)
    (bad, n), *_ = sql(
        tables,
        "SELECT count(*) FILTER (WHERE r.refunded <> o.amount), count(*) FROM refunds r JOIN orders "
        "o USING (order_id)",
    )
    assert n == tables["orders"].num_rows and bad == 0


def test_the_spill_folder_is_removed_after_a_run_and_after_a_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    engine = Engine(check(shop()).raise_for_errors(), Options(block_rows=BLOCK))
    engine.run(lambda tid, chunk: None)
    assert list(tmp_path.iterdir()) == []

    def broken(tid: str, chunk: pa.Table) -> None:
        if tid == "orders":
            raise GenerationError("disk gone")

    engine = Engine(check(shop()).raise_for_errors(), Options(block_rows=BLOCK))
    with pytest.raises(GenerationError):
        engine.run(broken)
    assert list(tmp_path.iterdir()) == []


# --- scoped lookups -----------------------------------------------------------------------------------


def fleet(scooter_min: int = 1, nullable: bool = False) -> dict[str, Any]:
    cities = {
        "id": "cities",
        "kind": "entity",
        "pk": "city_id",
        "rows": 12,
        "columns": [seq("city_id", start=100)],
    }
    scooters = {
        "id": "scooters",
        "kind": "fact",
        "pk": "scooter_id",
        "parents": ["cities"],
        "fanout": {"distribution": "poisson", "lambda": 1.5, "min": scooter_min},
        "columns": [
            seq("scooter_id"),
            col("city_id", "int", {"lookup": {"from": "cities.city_id"}}),
            col("model", "string", {"choice": {"choices": ["a", "b", "c", "d"]}}),
        ],
    }
    trips = {
        "id": "trips",
        "kind": "entity",
        "pk": "trip_id",
        "rows": 6000,
        "columns": [
            seq("trip_id"),
            col("city_id", "int", {"choice": {"choices_ref": "cities.city_id"}}),
            col(
                "scooter_id",
                "int",
                {"lookup": {"from": "scooters.scooter_id", "on": {"city_id": "city_id"}, "pick": "random"}},
                nullable=nullable,
            ),
            col(
                "model",
                "string",
                {"lookup": {"from": "scooters.model", "on": {"city_id": "city_id"}, "pick": "random"}},
                nullable=nullable,
            ),
        ],
    }
    return doc(cities, scooters, trips)


def test_a_random_pick_stays_in_scope_and_is_uniform_over_the_candidates() -> None:
    tables = generated(fleet())
    (outside, mismatched), *_ = sql(
        tables,
        "SELECT count(*) FILTER (WHERE s.city_id <> t.city_id), count(*) FILTER (WHERE s.model <> t.model) "
        "FROM trips t JOIN scooters s USING (scooter_id)",
    )
    assert outside == 0 and mismatched == 0  # columns picking with the same `on` share the row
    rows = sql(
        tables,
        "SELECT s.city_id, s.scooter_id, count(t.trip_id) FROM scooters s LEFT JOIN trips t USING "
        "(scooter_id) GROUP BY 1, 2",
    )
    per_city: dict[int, list[int]] = {}
    for city, _, n in rows:
        per_city.setdefault(city, []).append(n)
    for counts in per_city.values():  # every candidate of a city is equally likely: chi-square test
        if len(counts) > 1:
            c = np.asarray(counts, dtype=float)
            chi2 = ((c - c.mean()) ** 2 / c.mean()).sum()
            assert chi2 < len(c) - 1 + 6 * np.sqrt(2 * (len(c) - 1)), counts


def test_a_row_with_nothing_to_pick_is_null_or_stops_the_run_naming_the_key() -> None:
    tables = generated(fleet(scooter_min=0, nullable=True))
    (nulls, empty_cities), *_ = sql(
        tables,
        "SELECT count(*) FILTER (WHERE scooter_id IS NULL), "
        "(SELECT count(*) FROM cities c WHERE NOT EXISTS (SELECT 1 FROM scooters s WHERE s.city_id = "
        "c.city_id)) FROM trips",
    )
    assert empty_cities > 0 and nulls > 0
    (wrong,), *_ = sql(
        tables,
        "SELECT count(*) FROM trips t WHERE (t.scooter_id IS NULL) = EXISTS (SELECT 1 FROM scooters "
        "s WHERE s.city_id = t.city_id)",
    )
    assert wrong == 0
    with pytest.raises(
        GenerationError, match=r"no 'scooters' row to pick from \(e.g. the row with city_id = "
    ):
        generated(fleet(scooter_min=0, nullable=False))


# --- attribution --------------------------------------------------------------------------------------


def journeys(lifts: dict[str, float], base_rate: float) -> dict[str, Any]:
    users = {"id": "users", "kind": "entity", "pk": "user_id", "rows": 400, "columns": [seq("user_id")]}
    touches = {
        "id": "touches",
        "kind": "fact",
        "pk": "touch_id",
        "parents": ["users"],
        "fanout": {"distribution": "poisson", "lambda": 10},
        "columns": [
            seq("touch_id"),
            col("user_id", "int", {"lookup": {"from": "users.user_id"}}),
            col("channel", "string", {"choice": {"choices": ["a", "b"]}}),
            col("ts", "datetime", {"datetime_series": {}}),
        ],
    }
    conversions = {
        "id": "conversions",
        "kind": "fact",
        "pk": "conversion_id",
        "parents": ["users"],
        "attribution": {
            "touches": "touches",
            "channel_column": "channel",
            "time_column": "ts",
            "lookback": {"days": 20},
            "base_rate": base_rate,
            "channel_lift": lifts,
            "credit_table": "credit",
            "half_life": {"days": 2},
        },
        "columns": [
            seq("conversion_id"),
            col("user_id", "int", {"lookup": {"from": "users.user_id"}}),
            col("ts", "datetime", {"datetime_series": {}}),
        ],
    }
    return doc(users, touches, conversions)


def test_conversions_follow_a_touch_before_the_next_one() -> None:
    tables = generated(journeys({"a": 2.0}, 0.2))
    (n, bad), *_ = sql(
        tables,
        """SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (
             SELECT 1 FROM (SELECT *, lead(ts) OVER (PARTITION BY user_id ORDER BY ts, touch_id) nxt FROM
               touches) t
             WHERE t.user_id = c.user_id AND t.ts < c.ts AND c.ts < coalesce(t.nxt, '2025-01-01')
               AND c.ts < t.ts + INTERVAL 20 DAY))
           FROM conversions c""",
    )
    assert n > 100 and bad == 0
    (twice,), *_ = sql(
        tables,
        """SELECT count(*) FROM (SELECT t.touch_id
           FROM (SELECT *, lead(ts) OVER (PARTITION BY user_id ORDER BY ts, touch_id) nxt FROM touches) t
           JOIN conversions c ON c.user_id = t.user_id AND c.ts > t.ts AND (t.nxt IS NULL OR c.ts < t.nxt)
           GROUP BY 1 HAVING count(*) > 1)""",
    )
    assert twice == 0  # at most one conversion after each touch


def test_only_a_lifted_channel_makes_conversions_when_the_base_rate_is_tiny() -> None:
    """The odds after a touch count the touches in the window ending at that touch: with a tiny base
    rate and a huge lift of 'a', a conversion follows only a touch whose window holds an 'a'."""
    tables = generated(journeys({"a": 1e6}, 1e-6))
    (n, without_a), *_ = sql(
        tables,
        """WITH decided AS (SELECT c.conversion_id, max(t.ts) AS touch_ts, any_value(c.user_id) AS user_id
                           FROM conversions c JOIN touches t ON t.user_id = c.user_id AND t.ts < c.ts
                             GROUP BY 1)
           SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM touches t WHERE t.user_id =
             d.user_id
             AND t.channel = 'a' AND t.ts <= d.touch_ts AND t.ts > d.touch_ts - INTERVAL 20 DAY))
           FROM decided d""",
    )
    assert n > 100 and without_a == 0


def test_credit_rows_cover_the_window_and_each_model_sums_to_one() -> None:
    tables = generated(journeys({"a": 2.0}, 0.2))
    (bad_sums,), *_ = sql(
        tables,
        "SELECT count(*) FROM (SELECT conversion_id, sum(first_touch) f, sum(last_touch) l, "
        "sum(linear) li, sum(time_decay) d "
        "FROM credit GROUP BY 1) WHERE abs(f - 1) > 1e-12 OR abs(l - 1) > 1e-12 OR abs(li - 1) > "
        "1e-12 OR abs(d - 1) > 1e-9",
    )
    (missing, extra), *_ = sql(
        tables,
        """WITH expected AS (SELECT c.conversion_id, t.touch_id FROM conversions c JOIN touches t
             ON t.user_id = c.user_id AND t.ts >= c.ts - INTERVAL 20 DAY AND t.ts < c.ts),
           got AS (SELECT conversion_id, touch_id FROM credit)
           SELECT (SELECT count(*) FROM (FROM expected EXCEPT FROM got)),
                  (SELECT count(*) FROM (FROM got EXCEPT FROM expected))""",
    )
    assert bad_sums == 0 and missing == 0 and extra == 0
    (decay_wrong,), *_ = sql(
        tables,
        """SELECT count(*) FROM (SELECT cr.*, pow(2, -epoch_us(c.ts - t.ts) / 172800e6) w,
                  sum(pow(2, -epoch_us(c.ts - t.ts) / 172800e6)) OVER (PARTITION BY cr.conversion_id) s,
                  row_number() OVER (PARTITION BY cr.conversion_id ORDER BY t.ts, t.touch_id) rn,
                  count(*) OVER (PARTITION BY cr.conversion_id) k
           FROM credit cr JOIN conversions c USING (conversion_id) JOIN touches t USING (touch_id))
           WHERE abs(time_decay - w / s) > 1e-9 OR position <> rn OR first_touch <> (rn = 1)::INT
              OR last_touch <> (rn = k)::INT OR abs(linear - 1 / k) > 1e-12""",
    )
    assert decay_wrong == 0


def test_attribution_is_the_same_for_every_chunk_size() -> None:
    a = generated(journeys({"a": 2.0}, 0.2), chunk_rows=BLOCK)
    b = generated(journeys({"a": 2.0}, 0.2), chunk_rows=100_000)
    for name in a:
        assert a[name].equals(b[name]), name


# --- the bundled examples -------------------------------------------------------------------------------


@pytest.mark.parametrize("example", ["ecommerce", "banking", "scooters", "marketing"])
def test_bundled_examples_are_byte_identical_for_any_chunk_size(example: str, tmp_path: Path) -> None:
    checked = check(
        __import__("json").loads((examples_dir() / f"{example}.json").read_text(encoding="utf-8"))
    )
    digests = []
    for chunk_rows in (1024, 200_000):
        out = tmp_path / str(chunk_rows)
        write_dataset(checked, out, Options(scale=0.2, chunk_rows=chunk_rows, block_rows=1024))
        digests.append(
            {f.name: f.read_bytes() for n in checked.raise_for_errors().nodes for f in table_files(out, n.id)}
        )
    assert digests[0] == digests[1]
    assert (
        pq.read_table(
            next(iter(table_files(tmp_path / "1024", checked.raise_for_errors().nodes[-1].id)))
        ).num_rows
        > 0
    )
