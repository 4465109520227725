"""Behaviour checks (DSL.md §4.2 `trend`, §8): recover every declared behavioural parameter from the
data with the analysis an analyst would run, and compare it with the schema.

Each recovery is one SQL aggregation over the table views (so Parquet of any size works) plus a little
arithmetic on the aggregates. A recovered value passes when it is within z standard errors of the
declared one (and never held tighter than a small floor): the tolerance follows the sample size, so a
small preview is not failed for noise and a large run is held to the declared numbers. Standard errors
are conservative (the covariance between the two halves of a ratio is ignored).

What is recovered:
- trend: the growth parameter, from a weighted least-squares fit of the declared curve to per-year
  means (per twelfth of the timeframe when it is shorter than two years), numeric seasonality divided out;
- segments: children per parent and mean value per segment, as ratios to the largest segment;
- vintage: children per parent per age unit over the same at age 0 (the retention curve, DSL.md §8.2),
  counting a parent at age a only when that whole age unit lies inside the timeframe; mean value per
  age unit over age 0;
- funnels: stage-to-stage conversion per segment, the mean gap between stages, and stage order;
- state models: the per-period hazard of leaving each Markov state (exits over periods at risk, the
  censored spells' observed periods included), the next-state split and the mean duration of
  semi-Markov states, per segment; and the walk's bookkeeping (initial, previous state, terminal).
Censoring at the timeframe end is handled as an analyst should: funnel and duration statistics only
use parents with enough time left for the walk to be complete."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb
import numpy as np

from datagen.dsl.behaviours import AgeMultiplier, Duration, Gap, StateTransitionModel
from datagen.dsl.models import Column, Fanout, Node, Schema
from datagen.dsl.references import first_datetime_column, modifier_time_column, split_ref
from datagen.validate.behaviour import register
from datagen.validate.context import Context, q, sql_text
from datagen.validate.results import Result

Z = 4.0  # standard errors a recovered value may be from the declared one
MIN_GROUP = 30  # fewer observations than this in a stratum: not reported
BOOKKEEPING = "walk bookkeeping"  # declared structure of a walk: checked exactly, a failure is hard
MIN_PARENTS = 10  # parents per segment for a fanout ratio (each one is a whole count of children)
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
# The DSL's time units (DSL.md §8.2): the average Gregorian month and year, as the engine uses them.
UNIT_US = {
    "day": DAY_US,
    "week": 7 * DAY_US,
    "month": int(30.436875 * DAY_US),
    "year": int(365.2425 * DAY_US),
}


@dataclass(frozen=True)
class Recovered:
    """One declared parameter in one stratum, next to what the data says about it. `behaviour` names the
    check: trend, segment_fanout, segment_value, vintage_activity, vintage_value, stage or state."""

    behaviour: str
    table: str
    column: str | None
    subject: str  # what is measured, in words (one check per subject)
    stratum: str  # which part of the data ("age 3", "vip / regular", "signup -> trial (organic)")
    declared: float
    observed: float
    se: float  # standard error of `observed` under the declared value
    n: int  # observations behind the estimate
    floor: float = 0.0  # the least tolerance, whatever the sample size

    def tolerance(self, z: float = Z) -> float:
        return max(self.floor, z * self.se) if math.isfinite(self.se) else math.inf

    def ok(self, z: float = Z) -> bool:
        return bool(abs(self.observed - self.declared) <= self.tolerance(z))

    def __str__(self) -> str:
        return (
            f"{'ok' if self.ok() else 'FAIL'} {self.table}: {self.subject}: {self.stratum}: observed "
            f"{self.observed:.4g}, declared {self.declared:.4g} ± {self.tolerance():.2g} (n={self.n})"
        )


@dataclass(frozen=True)
class Skipped:
    """A declared behaviour the data cannot speak to (no link to the parent, too few rows)."""

    behaviour: str
    table: str
    column: str | None
    subject: str
    reason: str


Finding = Recovered | Skipped


def _us(column: str, alias: str = "") -> str:
    return f"epoch_us({alias + '.' if alias else ''}{q(column)})"


def _timeframe(schema: Schema) -> tuple[int, int]:
    tf = schema.timeframe
    return round(tf.start_dt.timestamp() * 1e6), round(tf.end_dt.timestamp() * 1e6)


def _fk(schema: Schema, child: Node, parent: Node) -> str | None:
    """The child's column holding the parent's key: a declared (or implied) foreign key into the
    parent's PK, else a plain lookup into it."""
    for fk in schema.constraints.foreign_keys:
        a, b = split_ref(fk.from_), split_ref(fk.to)
        if a and b and a[0] == child.id and b == (parent.id, parent.pk):
            return a[1]
    for col in child.columns:
        if col.kind == "lookup" and not col.args.on and col.args.from_ == f"{parent.id}.{parent.pk}":
            return col.name
    return None


def _children(schema: Schema, parent: Node) -> Iterator[Node]:
    return (n for n in schema.nodes if parent.id in (n.parents or []))


def _ratio_se(m1: float, se1: float, m0: float, se0: float) -> float:
    """Standard error of m1/m0 (delta method, the two means taken as independent)."""
    if m0 <= 0:
        return math.inf
    if m1 <= 0:
        return se1 / m0
    return (m1 / m0) * math.sqrt((se1 / m1) ** 2 + (se0 / m0) ** 2)


def _binomial_se(p: float, n: int) -> float:
    """Under the declared p, floored so that p = 0 or 1 still allows a little noise."""
    return math.sqrt(max(p * (1 - p), 0.25 / n) / n)


# --- trend ----------------------------------------------------------------------------------------------


def _pattern_sql(time_us: str, dimension: str, weights: list[float]) -> str:
    """The weight of a seasonality pattern at a time (the DSL's calendar: UTC, Monday and January = 0)."""
    if dimension == "hour":
        index = f"(floor({time_us} / {HOUR_US})::BIGINT % 24 + 24) % 24"
    elif dimension == "dow":
        index = f"(floor({time_us} / {DAY_US})::BIGINT % 7 + 10) % 7"
    else:
        index = f"month(make_timestamp({time_us})) - 1"
    return f"list_extract([{', '.join(repr(float(w)) for w in weights)}], ({index})::BIGINT + 1)"


def _trend_basis(args) -> tuple[str, Callable[[float, float], float], str]:
    """x(t) (SQL over `years`) in which the declared trend is linear, and how to read the parameter off
    the fit c + s·x. The bins' mean x is exact for the linear and logarithmic forms; for the
    exponential one the within-bin spread scales every bin alike and drops out of the slope."""
    if args.type == "exponential":
        return "years", lambda c, s: math.exp(s) - 1, "growth_rate per year (exponential)"
    if args.type == "linear":
        return "years", lambda c, s: s / c, "growth_rate per year (linear)"
    b = args.params.b if args.params is not None else 1.0
    name = "params.a (logarithmic)" if args.params is not None else "growth_rate (logarithmic)"
    return f"ln(1 + {float(b)!r} * years)", lambda c, s: s / c, name


def _wls(x: np.ndarray, y: np.ndarray, se: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Weighted least squares y = c + s·x; returns c, s and their covariance matrix."""
    w = 1.0 / np.maximum(se, 1e-300) ** 2
    a = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(a.T @ (a * w[:, None]))
    c, s = cov @ (a.T @ (w * y))
    return float(c), float(s), cov


def recover_trends(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = _timeframe(schema)
    width = UNIT_US["year"] if end - start >= 2 * UNIT_US["year"] else (end - start) / 12
    scaled_by_age = {
        ref
        for n in schema.nodes
        if n.vintage_behavior
        for m in n.vintage_behavior.age_based_multipliers.values()
        if isinstance(m.applies_to, list)
        for ref in m.applies_to
    }
    out: list[Finding] = []
    for node in schema.nodes:
        for col in node.columns:
            trends = [m for m in col.modifiers if m.transform == "trend"]
            if not trends:
                continue
            if len(trends) > 1 or f"{node.id}.{col.name}" in scaled_by_age:
                why = "several trends" if len(trends) > 1 else "the value also follows a vintage curve"
                out.append(Skipped("trend", node.id, col.name, "trend", f"{why}: not separable"))
                continue
            out.append(_recover_trend(con, node, col, trends[0].args, start, end, width))
    return out


def _recover_trend(
    con: duckdb.DuckDBPyConnection, node: Node, col: Column, args, start: int, end: int, width: float
) -> Finding:
    basis, read, name = _trend_basis(args)
    tcol = modifier_time_column(node, col, "trend", args)
    if tcol is None:
        return Skipped("trend", node.id, col.name, name, "no time column")
    t = _us(tcol)
    value = q(col.name)
    for mod in col.modifiers:  # numeric seasonality multiplies the value: divide it back out
        if mod.transform == "seasonality":
            scol = modifier_time_column(node, col, "seasonality", mod.args)
            value += f" / nullif({_pattern_sql(_us(scol), mod.args.dimension, mod.args.weights)}, 0)"
    rows = con.execute(
        f"""SELECT floor((t_us - {start}) / {width}) AS bin, count(v), avg(v), stddev_samp(v), avg({basis})
            FROM (SELECT {value} AS v, ({t} - {start}) / {UNIT_US["year"]} AS years, {t} AS t_us
                  FROM {q(node.id)})
            WHERE v IS NOT NULL AND NOT isnan(v) AND t_us >= {start} AND t_us < {end}
            GROUP BY bin HAVING count(v) >= {MIN_GROUP} ORDER BY bin"""
    ).fetchall()
    if len(rows) < 2:
        return Skipped("trend", node.id, col.name, name, "fewer than two periods with enough rows")
    n, mean, sd, x = (np.array([r[i] for r in rows], dtype=float) for i in range(1, 5))
    if args.type == "exponential":
        if (mean <= 0).any():
            return Skipped("trend", node.id, col.name, name, "non-positive means: no exponential fit")
        y, se = np.log(mean), sd / (mean * np.sqrt(n))
    else:
        y, se = mean, sd / np.sqrt(n)
    c, s, cov = _wls(x, y, se)
    observed = read(c, s)
    if args.type == "exponential":
        se_param = math.exp(s) * math.sqrt(cov[1, 1])
    else:  # s / c, delta method
        grad = np.array([-s / c**2, 1 / c])
        se_param = math.sqrt(float(grad @ cov @ grad))
    declared = args.params.a if args.type == "logarithmic" and args.params is not None else args.growth_rate
    periods = "year" if width >= UNIT_US["year"] else "twelfth of the timeframe"
    return Recovered(
        "trend",
        node.id,
        col.name,
        name,
        f"fit to {len(rows)} per-{periods} means",
        declared,
        observed,
        se_param,
        int(n.sum()),
        floor=0.01,
    )


# --- segments -------------------------------------------------------------------------------------------


def recover_segments(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    out: list[Finding] = []
    for parent in schema.nodes:
        sb = parent.segment_behavior
        if sb is None or parent.pk is None:
            continue
        fanout = {s: b.fanout_multiplier for s, b in sb.behaviors.items()}
        value = {s: b.value_multiplier for s, b in sb.behaviors.items()}
        for child in _children(schema, parent):
            fk = _fk(schema, child, parent)
            subject = f"children per {parent.id} row by {sb.segment_column}"
            walks = child.stage_config is not None or child.state_transition_model is not None
            born_here = child.primary_parent == parent.id
            counted = not walks and (child.fanout is not None or not born_here)
            if counted and any(f != 1.0 for f in fanout.values()):
                expect, why = _fanout_expectation(parent, child, fanout, born_here)
                if fk is None or expect is None:
                    why = why or f"no key into {parent.id}"
                    out.append(Skipped("segment_fanout", child.id, None, subject, why))
                else:
                    out += _segment_fanout(con, parent, child, fk, sb.segment_column, expect, subject)
            for ref in sb.applies_to_columns:
                table, column = split_ref(ref) or ("", "")
                if table != child.id:
                    continue
                subject = f"mean {column} by {parent.id}.{sb.segment_column}"
                if fk is None:
                    out.append(
                        Skipped("segment_value", child.id, column, subject, f"no key into {parent.id}")
                    )
                else:
                    expect = _factor(value)
                    out += _segment_value(con, parent, child, fk, sb.segment_column, column, expect, subject)
    return out


def _factor(factors: dict[str, float]) -> Callable[[str], float]:
    return lambda seg: factors.get(seg, 1.0)


def _fanout_expectation(
    parent: Node, child: Node, fanout: dict[str, float], born_here: bool
) -> tuple[Callable[[str], float] | None, str | None]:
    """Expected children per parent row in a segment, up to a common factor. Born from the parent: the
    fanout distribution at lambda x multiplier, after min/max (DSL.md §5); referenced from a further
    position: proportional to the multiplier (a weighted draw). Bounds that bite on a parent whose
    activity also follows a vintage curve leave the ratio undetermined by the multipliers alone."""
    f = child.fanout
    if not born_here or f is None:
        return _factor(fanout), None
    clipped = {seg: expected_count(f, m) for seg, m in {**fanout, "": 1.0}.items()}
    base = {seg: _unbounded_mean(f) * m for seg, m in {**fanout, "": 1.0}.items()}
    bites = any(abs(clipped[k] - base[k]) > 0.005 * max(base[k], 1e-9) for k in clipped)
    if (
        bites
        and parent.vintage_behavior is not None
        and any(m.applies_to == "fanout" for m in parent.vintage_behavior.age_based_multipliers.values())
    ):
        return None, "fanout min/max bite and activity follows a vintage curve: ratio not determined"
    return (lambda seg: clipped.get(seg, clipped[""])), None


def _unbounded_mean(f: Fanout) -> float:
    return f.lambda_ if f.lambda_ is not None else (f.min + f.max) / 2


def expected_count(f: Fanout, m: float) -> float:
    """E[children] of a parent whose fanout is multiplied by m, after the declared min/max (exact sums over
    the distribution the engine draws from: poisson, negative binomial or stochastically rounded
    uniform)."""
    lo, hi = f.min or 0, f.max if f.max is not None else math.inf
    if f.distribution == "uniform":
        base = np.arange(f.min, f.max + 1) * m
        whole, frac = np.floor(base), base - np.floor(base)
        return float(np.mean((1 - frac) * np.clip(whole, lo, hi) + frac * np.clip(whole + 1, lo, hi)))
    mean = f.lambda_ * m
    if mean <= 0:
        return float(lo)
    k = f.dispersion or 1.0
    sd = math.sqrt(mean if f.distribution == "poisson" else mean * (1 + mean / k))
    first, last = max(0, math.floor(mean - 12 * sd)), math.ceil(mean + 12 * sd) + 20
    if lo <= first and hi >= last:
        return mean
    x = np.arange(first, last + 1, dtype=float)
    lg = np.vectorize(math.lgamma)
    if f.distribution == "poisson":
        logp = x * math.log(mean) - mean - lg(x + 1)
    else:
        p = k / (k + mean)
        logp = lg(x + k) - math.lgamma(k) - lg(x + 1) + k * math.log(p) + x * math.log1p(-p)
    pmf = np.exp(logp - logp.max())
    return float(np.sum(np.clip(x, lo, hi) * pmf) / pmf.sum())


def _segment_fanout(
    con, parent: Node, child: Node, fk: str, seg: str, expect: Callable[[str], float], subject: str
) -> list:
    rows = con.execute(
        f"""SELECT p.seg, count(*), avg(coalesce(c.k, 0)), stddev_samp(coalesce(c.k, 0))
            FROM (SELECT {q(parent.pk)} AS id, CAST({q(seg)} AS VARCHAR) AS seg FROM {q(parent.id)}) p
            LEFT JOIN (SELECT {q(fk)} AS id, count(*) AS k FROM {q(child.id)} GROUP BY 1) c ON c.id = p.id
            WHERE p.seg IS NOT NULL GROUP BY p.seg HAVING count(*) >= {MIN_PARENTS}"""
    ).fetchall()
    return _segment_ratios(rows, expect, "segment_fanout", child.id, None, subject)


def _segment_value(
    con,
    parent: Node,
    child: Node,
    fk: str,
    seg: str,
    column: str,
    expect: Callable[[str], float],
    subject: str,
) -> list:
    v = f"c.{q(column)}"
    rows = con.execute(
        f"""SELECT CAST(p.{q(seg)} AS VARCHAR), count({v}), avg({v}), stddev_samp({v})
            FROM {q(child.id)} c JOIN {q(parent.id)} p ON c.{q(fk)} = p.{q(parent.pk)}
            WHERE p.{q(seg)} IS NOT NULL GROUP BY 1 HAVING count({v}) >= {MIN_GROUP}"""
    ).fetchall()
    return _segment_ratios(rows, expect, "segment_value", child.id, column, subject)


def _segment_ratios(
    rows: list, expect: Callable[[str], float], behaviour: str, table: str, column: str | None, subject: str
) -> list[Finding]:
    """Each segment against the largest one: observed ratio of means vs the declared ratio."""
    if len(rows) < 2:
        return [Skipped(behaviour, table, column, subject, "fewer than two segments with enough rows")]
    ref = max(rows, key=lambda r: r[1])
    ref_factor = expect(ref[0])
    out = []
    for seg, n, mean, sd in rows:
        if seg == ref[0] or ref_factor == 0 or not ref[2]:
            continue
        declared = expect(seg) / ref_factor
        se = _ratio_se(mean, (sd or 0.0) / math.sqrt(n), ref[2], (ref[3] or 0.0) / math.sqrt(ref[1]))
        out.append(
            Recovered(
                behaviour,
                table,
                column,
                subject,
                f"{seg} / {ref[0]}",
                declared,
                mean / ref[2],
                se,
                int(n),
                floor=0.01 * declared,
            )
        )
    return out


# --- vintage --------------------------------------------------------------------------------------------


def curve_value(mult: AgeMultiplier, age: np.ndarray) -> np.ndarray:
    """A vintage curve at ages in its own unit (DSL.md §8.2: arrays step at whole units, last held;
    parametric curves floored at 0) — written from the DSL, independently of the engine."""
    age = np.maximum(age, 0.0)
    if isinstance(mult.curve, list):
        c = np.asarray(mult.curve, dtype=float)
        return c[np.minimum(np.floor(age).astype(np.int64), len(c) - 1)]
    a, b = mult.curve.params.a, mult.curve.params.b
    if mult.curve.curve_type == "logarithmic":
        v = a + b * np.log1p(age)
    elif mult.curve.curve_type == "exponential":
        v = a * np.exp(np.clip(b * age, -700, 700))
    else:
        v = a + b * age
    return np.maximum(v, 0.0)


def unit_means(curves: list[AgeMultiplier], unit_us: int, ages: int) -> np.ndarray:
    """Mean of the product of the curves over each age unit [a, a+1) of `unit_us` (midpoint rule)."""
    steps = 400
    x = (np.arange(ages * steps) + 0.5) / steps
    prod = np.ones_like(x)
    for m in curves:
        prod *= curve_value(m, x * unit_us / UNIT_US[m.time_unit])
    return prod.reshape(ages, steps).mean(axis=1)


def _age_units(curves: list[AgeMultiplier], unit_us: int, start: int, end: int) -> int:
    """How many age units to read: an array's length and two more, else a year's worth (at most 24),
    and never more than the timeframe can show."""
    longest = max((len(m.curve) + 2 for m in curves if isinstance(m.curve, list)), default=0)
    wanted = max(longest, math.ceil(UNIT_US["year"] / unit_us))
    return max(1, min(wanted, 24, int((end - start) // unit_us) - 1))


def recover_vintage(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = _timeframe(schema)
    out: list[Finding] = []
    for parent in schema.nodes:
        vb = parent.vintage_behavior
        if vb is None or parent.pk is None:
            continue
        mults = list(vb.age_based_multipliers.values())
        activity = [m for m in mults if m.applies_to == "fanout"]
        for child in _children(schema, parent):
            fk, tcol = _fk(schema, child, parent), first_datetime_column(child)
            if fk is None or tcol is None:
                why = f"no key into {parent.id}" if fk is None else "no time column"
                out.append(Skipped("vintage", child.id, None, f"age of {parent.id}", why))
                continue
            if activity and child.primary_parent == parent.id and child.fanout is not None:
                out += _vintage_activity(
                    con, parent, child, fk, tcol, vb.created_at_column, activity, start, end
                )
            for ref in sorted({r for m in mults if isinstance(m.applies_to, list) for r in m.applies_to}):
                table, column = split_ref(ref) or ("", "")
                if table == child.id:
                    curves = [m for m in mults if isinstance(m.applies_to, list) and ref in m.applies_to]
                    out += _vintage_value(
                        con, parent, child, fk, tcol, vb.created_at_column, column, curves, start, end
                    )
    return out


def _vintage_activity(
    con, parent: Node, child: Node, fk: str, tcol: str, created: str, curves: list, start: int, end: int
) -> list[Finding]:
    unit = UNIT_US[curves[0].time_unit]
    ages = _age_units(curves, unit, start, end)
    rows = con.execute(
        f"""WITH p AS (SELECT {q(parent.pk)} AS id, {_us(created)} AS born FROM {q(parent.id)}
                       WHERE {q(created)} IS NOT NULL),
                 k AS (SELECT c.{q(fk)} AS id, floor(({_us(tcol, "c")} - p.born) / {unit})::BIGINT AS age,
                              count(*) AS k
                       FROM {q(child.id)} c JOIN p ON c.{q(fk)} = p.id GROUP BY 1, 2)
            SELECT a.age, count(*), sum(coalesce(k.k, 0)), sum(coalesce(k.k, 0) ^ 2)
            FROM range({ages}) a(age)  -- a parent counts at age a when that whole unit is in the data
            JOIN p ON p.born + a.age * {unit} >= {start} AND p.born + (a.age + 1) * {unit} <= {end}
            LEFT JOIN k ON k.id = p.id AND k.age = a.age GROUP BY a.age ORDER BY a.age"""
    ).fetchall()
    subject = f"children per {parent.id} row per {curves[0].time_unit} of age, over age 0"
    return _age_ratios(rows, unit_means(curves, unit, ages), "vintage_activity", child.id, None, subject)


def _vintage_value(
    con, parent: Node, child: Node, fk: str, tcol: str, created: str, column: str, curves: list, start, end
) -> list[Finding]:
    unit = UNIT_US[curves[0].time_unit]
    ages = _age_units(curves, unit, start, end)
    v, age = f"c.{q(column)}", f"({_us(tcol, 'c')} - {_us(created, 'p')})"
    rows = con.execute(
        f"""SELECT floor({age} / {unit})::BIGINT AS age, count({v}), sum({v}), sum({v} ^ 2)
            FROM {q(child.id)} c JOIN {q(parent.id)} p ON c.{q(fk)} = p.{q(parent.pk)}
            WHERE {v} IS NOT NULL AND {age} >= 0 GROUP BY 1 HAVING age < {ages} ORDER BY 1"""
    ).fetchall()
    subject = f"mean {column} per {curves[0].time_unit} of {parent.id} age, over age 0"
    return _age_ratios(rows, unit_means(curves, unit, ages), "vintage_value", child.id, column, subject)


def _age_ratios(rows: list, expected: np.ndarray, behaviour: str, table: str, column, subject) -> list:
    """Per age unit: (mean at age a) / (mean at age 0) against curve(a) / curve(0)."""
    stats = {}
    for age, n, s, ss in rows:
        if n >= MIN_GROUP:
            mean = s / n
            var = max(ss / n - mean**2, 0.0) * n / (n - 1)
            stats[int(age)] = (mean, math.sqrt(var / n), int(n))
    if 0 not in stats or stats[0][0] <= 0 or expected[0] <= 0:
        return [Skipped(behaviour, table, column, subject, "too few parents observed at age 0")]
    m0, se0, _ = stats[0]
    out: list[Finding] = []
    for age, (mean, se, n) in sorted(stats.items()):
        if 0 < age < len(expected):
            out.append(
                Recovered(
                    behaviour,
                    table,
                    column,
                    subject,
                    f"age {age}",
                    expected[age] / expected[0],
                    mean / m0,
                    _ratio_se(mean, se, m0, se0),
                    n,
                    floor=0.01,
                )
            )
    return out


# --- funnels --------------------------------------------------------------------------------------------


def gap_horizon_hours(gap: Gap) -> float:
    """A gap longer than this is rarer than 1 in 1000: parents with this much time left are complete."""
    if gap.distribution == "exponential":
        return gap.mean_hours * math.log(1000)
    if gap.distribution == "lognormal":
        sigma = gap.sigma or 1.0
        return math.exp(math.log(gap.mean_hours) - sigma**2 / 2 + 3.1 * sigma)
    if gap.distribution == "uniform":
        return gap.max_hours
    return gap.mean_hours


def gap_mean_hours(gap: Gap) -> float:
    if gap.distribution == "uniform":
        return ((gap.min_hours or 0.0) + gap.max_hours) / 2
    return gap.mean_hours


def _segment_sql(parent: Node) -> str:
    sb = parent.segment_behavior
    return f"CAST(p.{q(sb.segment_column)} AS VARCHAR)" if sb else "'all'"


def recover_stages(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = _timeframe(schema)
    out: list[Finding] = []
    for node in schema.nodes:
        sc = node.stage_config
        if sc is None:
            continue
        parent = schema.node(node.primary_parent or "")
        fk = _fk(schema, node, parent) if parent is not None else None
        if fk is None:
            out.append(
                Skipped("stage", node.id, None, "funnel", "no key into the parent: walks not separable")
            )
            continue
        cols = sc.columns
        name_col = cols.stage_name if cols else "stage_name"
        tcol = cols.time if cols and cols.time else first_datetime_column(node)
        names = [s.stage_name for s in sc.stages]
        index = " ".join(f"WHEN s.{q(name_col)} = {sql_text(x)} THEN {i}" for i, x in enumerate(names))
        pk = f"s.{q(node.pk)}" if node.pk else "0"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __datagen_walks AS
                SELECT s.{q(fk)} AS id, {_segment_sql(parent)} AS seg, CASE {index} END AS i,
                       {_us(tcol, "s")} AS t, {pk} AS pk
                FROM {q(node.id)} s JOIN {q(parent.id)} p ON s.{q(fk)} = p.{q(parent.pk)}"""
        )
        try:
            cutoff = end - gap_horizon_hours(sc.gap) * HOUR_US
            out += _stage_conversions(con, node, sc, names, cutoff)
            out += _stage_gap(con, node, sc, cutoff)
            out += _stage_order(con, node, start, end)
        finally:
            con.execute("DROP TABLE IF EXISTS __datagen_walks")
    return out


def _stage_conversions(con, node: Node, sc, names: list[str], cutoff: float) -> list[Finding]:
    """Of the parents that reached stage i-1 early enough to see stage i, the share that did."""
    rows = con.execute(
        f"""SELECT a.seg, a.i + 1, count(*), count(b.id)
            FROM __datagen_walks a LEFT JOIN __datagen_walks b ON b.id = a.id AND b.i = a.i + 1
            WHERE a.i < {len(names) - 1} AND a.t <= {cutoff} AND a.seg IS NOT NULL
            GROUP BY 1, 2 HAVING count(*) >= {MIN_GROUP} ORDER BY 1, 2"""
    ).fetchall()
    out: list[Finding] = []
    for seg, i, n, k in rows:
        variation = sc.segment_variation.get(seg)
        p = min(1.0, sc.stages[i].transition_rate * (variation.transition_multiplier if variation else 1.0))
        out.append(
            Recovered(
                "stage",
                node.id,
                None,
                "stage conversion",
                f"{names[i - 1]} -> {names[i]} ({seg})",
                p,
                k / n,
                _binomial_se(p, n),
                int(n),
                floor=0.005,
            )
        )
    return out or [Skipped("stage", node.id, None, "stage conversion", "too few complete walks")]


def _stage_gap(con, node: Node, sc, cutoff: float) -> list[Finding]:
    n, mean, sd = con.execute(
        f"""SELECT count(*), avg((b.t - a.t) / {HOUR_US}), stddev_samp((b.t - a.t) / {HOUR_US})
            FROM __datagen_walks a JOIN __datagen_walks b ON b.id = a.id AND b.i = a.i + 1
            WHERE a.t <= {cutoff}"""
    ).fetchone()
    if n < MIN_GROUP:
        return []
    declared = gap_mean_hours(sc.gap)
    return [
        Recovered(
            "stage",
            node.id,
            None,
            "mean gap between stages (hours)",
            f"{sc.gap.distribution} gap",
            declared,
            mean,
            (sd or 0.0) / math.sqrt(n),
            int(n),
            floor=0.01 * declared,
        )
    ]


def _stage_order(con, node: Node, start: int, end: int) -> list[Finding]:
    """A parent's stages come in order, one row each, at increasing times inside the timeframe."""
    n, bad = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE i IS NULL OR t < {start} OR t > {end}
                   OR i <> rn - 1 OR t <= prev_t)
            FROM (SELECT *, row_number() OVER w AS rn, lag(t) OVER w AS prev_t
                  FROM __datagen_walks WINDOW w AS (PARTITION BY id ORDER BY i, pk))"""
    ).fetchone()
    return [
        Recovered(
            "stage",
            node.id,
            None,
            BOOKKEEPING,
            "out of order or outside the timeframe",
            0,
            bad,
            0.0,
            int(n),
        )
    ]


# --- state models ---------------------------------------------------------------------------------------


def duration_mean(d: Duration) -> float:
    if d.distribution == "uniform":
        return ((d.min or 0.0) + (d.max or 2 * d.mean)) / 2
    return d.mean


def duration_horizon(d: Duration) -> float:
    """In periods: a duration longer than this is rarer than 1 in 1000."""
    if d.distribution == "lognormal":
        sigma = d.sigma or 0.5
        return math.exp(math.log(d.mean) - sigma**2 / 2 + 3.1 * sigma)
    if d.distribution == "exponential":
        return d.mean * math.log(1000)
    if d.distribution == "uniform":
        return d.max or 2 * d.mean
    return d.mean


def declared_transitions(sm: StateTransitionModel, segment: str | None) -> dict[str, tuple[float, dict]]:
    """Per non-terminal state, for a parent in `segment`: the probability of leaving per period (1 for a
    semi-Markov state, which leaves when its duration ends) and the split over next states. DSL.md
    §8.4: the segment's churn_multiplier multiplies the probability of going to a terminal state."""
    variation = sm.segment_variation.get(segment) if segment is not None else None
    m = variation.churn_multiplier if variation else 1.0
    terminal = {name for name, spec in sm.states.items() if spec.terminal}
    out = {}
    for name, spec in sm.states.items():
        if spec.terminal:
            continue
        total = sum(spec.next_states.values())
        share = {k: v / total for k, v in spec.next_states.items()}
        if spec.duration is None:  # per-period hazards: towards terminal states scaled, the others not
            p = spec.transition_prob_per_period
            hazard = {k: p * v * (m if k in terminal else 1.0) for k, v in share.items()}
            leave = sum(hazard.values())
            out[name] = (min(1.0, leave), {k: v / leave for k, v in hazard.items()} if leave > 0 else share)
            continue
        ends = {k: v * m for k, v in share.items() if k in terminal}  # leaving is certain
        ended = sum(ends.values())
        if ended > 1:
            ends, ended = {k: v / ended for k, v in ends.items()}, 1.0
        rest = {k: v for k, v in share.items() if k not in terminal}
        if sum(rest.values()) > 0:
            split = {**ends, **{k: v / sum(rest.values()) * (1 - ended) for k, v in rest.items()}}
        else:
            split = {k: v / ended for k, v in ends.items()} if ended > 0 else share
        out[name] = (1.0, split)
    return out


def recover_states(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    start, end = _timeframe(schema)
    out: list[Finding] = []
    for node in schema.nodes:
        sm = node.state_transition_model
        if sm is None:
            continue
        parent = schema.node(node.primary_parent or "")
        fk = _fk(schema, node, parent) if parent is not None else None
        if fk is None:
            out.append(
                Skipped("state", node.id, None, "state model", "no key into the parent: walks not separable")
            )
            continue
        cols = sm.columns
        state_col = cols.state if cols else "state"
        tcol = cols.time if cols and cols.time else first_datetime_column(node)
        prev_col = cols.previous_state if cols else "previous_state"
        has_prev = bool(prev_col) and node.column(prev_col) is not None
        prev = f"CAST(s.{q(prev_col)} AS VARCHAR)" if has_prev else "NULL"
        pk = f"s.{q(node.pk)}" if node.pk else "0"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __datagen_spells AS
                SELECT *, lead(state) OVER w AS nxt, lead(t) OVER w AS t_next, lag(state) OVER w AS lag_state,
                       row_number() OVER w AS rn
                FROM (SELECT s.{q(fk)} AS id, {_segment_sql(parent)} AS seg, {prev} AS prev, {pk} AS pk,
                             CAST(s.{q(state_col)} AS VARCHAR) AS state, {_us(tcol, "s")} AS t
                      FROM {q(node.id)} s JOIN {q(parent.id)} p ON s.{q(fk)} = p.{q(parent.pk)})
                WINDOW w AS (PARTITION BY id ORDER BY t, pk)"""
        )
        try:
            out += _state_hazards(con, node, sm, end)
            out += _state_splits(con, node, sm)
            out += _state_durations(con, node, sm, end)
            out += _state_bookkeeping(con, node, sm, has_prev, start, end)
        finally:
            con.execute("DROP TABLE IF EXISTS __datagen_spells")
    return out


def _state_hazards(con, node: Node, sm, end: int) -> list[Finding]:
    """Markov states: exits over periods at risk (a censored spell counts the whole periods it was seen)."""
    period = UNIT_US[sm.period_unit]
    markov = [name for name, s in sm.states.items() if not s.terminal and s.duration is None]
    if not markov:
        return []
    rows = con.execute(
        f"""SELECT seg, state, count(nxt),
                   sum(CASE WHEN nxt IS NULL THEN floor(({end} - t) / {period})
                            ELSE round((t_next - t) / {period}) END)
            FROM __datagen_spells WHERE state IN ({", ".join(sql_text(s) for s in markov)})
            GROUP BY 1, 2 ORDER BY 1, 2"""
    ).fetchall()
    out: list[Finding] = []
    for seg, state, exits, exposure in rows:
        if exposure is None or exposure < MIN_GROUP:
            continue
        p = declared_transitions(sm, seg)[state][0]
        out.append(
            Recovered(
                "state",
                node.id,
                None,
                f"per-{sm.period_unit} hazard of leaving a state",
                f"{state} ({seg})",
                p,
                exits / exposure,
                math.sqrt(max(p, 1.0 / exposure) / exposure),
                int(exposure),
                floor=0.02 * p,
            )
        )
    return out


def _state_splits(con, node: Node, sm) -> list[Finding]:
    rows = con.execute(
        """SELECT seg, state, nxt, count(*), sum(count(*)) OVER (PARTITION BY seg, state)
           FROM __datagen_spells WHERE nxt IS NOT NULL GROUP BY 1, 2, 3"""
    ).fetchall()
    exits: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}
    for seg, state, nxt, k, n in rows:
        exits[(seg, state)] = int(n)
        counts[(seg, state, nxt)] = int(k)
    out: list[Finding] = []
    for (seg, state), n in sorted(exits.items(), key=str):
        declared = declared_transitions(sm, seg).get(state)
        if declared is None or n < MIN_GROUP:
            continue
        for nxt in sm.states:
            k, p = counts.get((seg, state, nxt), 0), declared[1].get(nxt, 0.0)
            if p > 0 or k > 0:
                out.append(
                    Recovered(
                        "state",
                        node.id,
                        None,
                        "share of exits to each next state",
                        f"{state} -> {nxt} ({seg})",
                        p,
                        k / n,
                        _binomial_se(p, n),
                        n,
                        floor=0.005,
                    )
                )
    return out


def _state_durations(con, node: Node, sm, end: int) -> list[Finding]:
    period = UNIT_US[sm.period_unit]
    out: list[Finding] = []
    for name, spec in sm.states.items():
        if spec.duration is None:
            continue
        cutoff = end - duration_horizon(spec.duration) * period
        n, mean, sd = con.execute(
            f"""SELECT count(*), avg((t_next - t) / {period}), stddev_samp((t_next - t) / {period})
                FROM __datagen_spells WHERE state = {sql_text(name)} AND t <= {cutoff}"""
        ).fetchone()
        if n >= MIN_GROUP and mean is not None:
            declared = duration_mean(spec.duration)
            out.append(
                Recovered(
                    "state",
                    node.id,
                    None,
                    f"mean duration of a semi-Markov state ({sm.period_unit}s)",
                    name,
                    declared,
                    mean,
                    (sd or 0.0) / math.sqrt(n),
                    int(n),
                    floor=0.01 * declared,
                )
            )
    return out


def _state_bookkeeping(con, node: Node, sm, has_prev: bool, start: int, end: int) -> list[Finding]:
    """One row per entered state: the first is the initial state, each row's previous state is the row
    before, nothing follows a terminal state, times stay inside the timeframe."""
    terminal = ", ".join(sql_text(name) for name, s in sm.states.items() if s.terminal) or "NULL"
    prev_bad = "OR prev IS DISTINCT FROM lag_state" if has_prev else ""
    n, bad = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE (rn = 1 AND state <> {sql_text(sm.initial_state)})
                   {prev_bad} OR t < {start} OR t > {end} OR (nxt IS NOT NULL AND state IN ({terminal})))
            FROM __datagen_spells"""
    ).fetchone()
    return [
        Recovered(
            "state",
            node.id,
            None,
            BOOKKEEPING,
            "breaking initial / previous / terminal / timeframe",
            0,
            bad,
            0.0,
            int(n),
        )
    ]


Recovery = Callable[[duckdb.DuckDBPyConnection, Schema], list[Finding]]
RECOVERIES: dict[str, Recovery] = {
    "trend": recover_trends,
    "segments": recover_segments,
    "vintage": recover_vintage,
    "stages": recover_stages,
    "states": recover_states,
}


def recover_all(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    """Every behaviour the schema declares, recovered from the tables on `con` (one view per table id)."""
    return [f for recover in RECOVERIES.values() for f in recover(con, schema)]


# --- as validation results ------------------------------------------------------------------------------


def _results(ctx: Context, family: str, recover: Recovery) -> Iterator[Result]:
    """One result per recovered subject (all its strata): it fails when any stratum is further from the
    declared value than its tolerance, and lists the worst strata as examples. Walk bookkeeping is hard
    (declared structure); the statistics only feed the score. Skips say why nothing could be read."""
    z = ctx.settings.z
    try:
        findings = recover(ctx.con, ctx.schema)
    except duckdb.Error as exc:
        reason = str(exc).strip().splitlines()[0]
        yield Result(family, "behavioural", "", None, "fail", f"could not be checked: {reason}")
        return
    groups: dict[tuple, list[Recovered]] = {}
    for f in findings:
        if isinstance(f, Skipped):
            yield Result(
                f.behaviour, "behavioural", f.table, f.column, "skip", f"{f.subject}: not checked: {f.reason}"
            )
        else:
            groups.setdefault((f.behaviour, f.table, f.column, f.subject), []).append(f)
    for (behaviour, table, column, subject), found in groups.items():
        found.sort(key=lambda r: -abs(r.observed - r.declared) / max(r.tolerance(z), 1e-12))
        bad = sum(not r.ok(z) for r in found)
        worst = found[0]
        if subject == BOOKKEEPING:
            message = f"{subject}: {int(worst.observed):,} of {worst.n:,} rows {worst.stratum}"
        else:
            message = (
                f"{subject}: {len(found) - bad} of {len(found)} within tolerance; worst {worst.stratum}: "
                f"observed {worst.observed:.4g}, declared {worst.declared:.4g} ± {worst.tolerance(z):.2g} "
                f"(n={worst.n:,})"
            )
        strata = [
            {
                "stratum": r.stratum,
                "declared": r.declared,
                "observed": r.observed,
                "tolerance": r.tolerance(z),
                "n": r.n,
                "ok": r.ok(z),
            }
            for r in found
        ]
        yield Result(
            behaviour,
            "behavioural",
            table,
            column,
            "fail" if bad else "pass",
            message,
            hard=subject == BOOKKEEPING,
            examples=strata[:5],
            details={"subject": subject, "strata": strata},
            fix=None
            if not bad
            else "regenerate from this schema; if it persists the engine does not produce "
            "what the schema declares (please report it with this result)",
        )


def _register(family: str, recover: Recovery) -> None:
    register(family)(lambda ctx: _results(ctx, family, recover))


for _family, _recover in RECOVERIES.items():
    _register(_family, _recover)
