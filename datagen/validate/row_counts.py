"""How many rows each table must hold, from the schema and the rows its parents hold in the data.

Exact where the engine's count is: an entity or a parent-less fact has `rows` x the scale the data
was generated at (as .metadata.json records it; without it the count is not checked, as a preview
sample is capped at a few rows) — its `rows` when other rows find it by a key they make
(dsl.references.found_by_value) — a vocab table one row per value,
a fact without fanout one row per parent row. Bounded where the count is a walk: a funnel gives one to
len(stages) rows per parent, a state walk at least one.

A fanout fact's count is random. Its mean and variance are summed over the parent rows: each parent's
count follows the fanout distribution at its multiplier (segment, table-level effects — computed by the
engine's own function from the stored parent rows, a chunk at a time — and, when the count is a rate
over the parent's life, the share of the window the life holds: its lifetime, vintage activity curve and
the state weights of `active_in` read from the walk table in the data), after min/max. A declared
`activity` makes each parent's count a mixture over its level: the moments average over the level's
quantiles. The count must lie within Z standard deviations of that mean (Z = 6: under the normal
approximation a false alarm about once in 10^9 runs), inside the hard bounds min·P .. max·P, and an
empty table fails when the chance of no child at all is below 1e-9. Deleting half the rows of a table
with a few hundred children, or all of them, is far outside these bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from datagen.dsl.behaviours import ActiveIn, BehaviourBlock, credit_source
from datagen.dsl.expressions import parse_expression
from datagen.dsl.models import Fanout, Node
from datagen.dsl.references import found_by_value
from datagen.engine.behaviours import BehaviourEngine
from datagen.engine.block import Store
from datagen.engine.fanout import fanout_multiplier
from datagen.engine.intensity import ParentBlock, Steps, own_time_column, rated, shares
from datagen.engine.lifecycle import INT64_MIN, entity_life, us_or
from datagen.engine.plan import make_plan
from datagen.engine.registry import behaviour_engine
from datagen.engine.timegrid import to_us
from datagen.validate.context import Context, q
from datagen.validate.relations import period_count, regular_spans
from datagen.validate.results import Result, verdict

Z = 6.0
EMPTY_CHANCE = 1e-9
CHUNK_ROWS = 1_000_000
EXACT_SUPPORT = 20_000  # beyond this many possible counts a clipped normal stands in for the exact sum
_BINS_PER_UNIT_LOG = 500  # multipliers are grouped to 0.2 % (relative) for the exact sums
REGENERATE = "regenerate the data from this schema: datagen generate SCHEMA -o DATA_DIR"


@dataclass
class Expected:
    """What the schema implies for a table's row count: bounds, and for a random count its moments."""

    low: float
    high: float
    how: str
    mean: float | None = None
    sd: float | None = None
    log_p_empty: float | None = None


def row_count(ctx: Context, table: str) -> Result:
    expected = expected_rows(ctx, ctx.node(table))
    n = ctx.rows[table]
    if expected is None:
        return Result(
            "rows",
            "structural",
            table,
            None,
            "skip",
            f"{n:,} rows; not checked: .metadata.json records no scale, so the count this table was "
            "generated with is unknown",
            hard=True,
        )
    ok = expected.low <= n <= expected.high
    if n == 0 and expected.log_p_empty is not None and expected.log_p_empty < math.log(EMPTY_CHANCE):
        ok = False
    if expected.low == expected.high:
        want = f"{expected.low:,.0f}"
    elif math.isinf(expected.high):
        want = f"at least {expected.low:,.0f}"
    else:
        want = f"{math.ceil(expected.low):,} to {math.floor(expected.high):,}"
    message = f"{n:,} rows; {'expected' if ok else 'the schema implies'} {want} ({expected.how})"
    details = {"rows": n, "low": expected.low, "high": expected.high, "basis": expected.how}
    if expected.mean is not None:
        details |= {"mean": expected.mean, "sd": expected.sd}
    return Result(
        "rows",
        "structural",
        table,
        None,
        verdict(ok),
        message,
        hard=True,
        details=details,
        fix=None if ok else f"rows are missing or were added: {REGENERATE}",
    )


def expected_rows(ctx: Context, node: Node) -> Expected | None:
    """None when the count depends on how the data was generated and the data does not say."""
    if node.kind == "vocab":
        values = node.vocab_size
        return Expected(values, values, "one row per value of its enum_list")
    if not node.parents and node.id in found_by_value(ctx.schema):
        rows = node.row_count
        return Expected(rows, rows, f"rows {rows:,}, whatever the scale: other rows find its rows by key")
    if not node.parents:
        scale = ctx.metadata.get("scale")
        if not (isinstance(scale, int | float) and not isinstance(scale, bool) and scale > 0):
            return None  # e.g. a preview sample, capped at a few rows per table
        rows = node.scaled_rows(scale)
        return Expected(rows, rows, f"rows {node.row_count:,} x scale {scale:g} from .metadata.json")
    parent = node.parents[0]
    p = ctx.rows.get(parent, 0)
    if node.stage_config is not None:
        stages = len(node.stage_config.stages)
        return Expected(p, p * stages, f"1 to {stages} stages for each of {p:,} {parent} rows")
    if node.state_transition_model is not None:
        return Expected(p, math.inf, f"at least the initial state for each of {p:,} {parent} rows")
    if node.attribution is not None:
        touches = node.attribution.touches
        n = ctx.rows.get(touches, 0)
        return Expected(0, n, f"at most one conversion after each of {n:,} {touches} rows")
    if credit_source(ctx.schema, node.id) is not None:
        return Expected(p, math.inf, f"at least one touch for each of {p:,} {parent} rows")
    if node.fanout is None:
        return Expected(p, p, f"one row per {parent} row")
    return _fanout_expected(ctx, node, ctx.node(parent), p)


# --- fanout facts -------------------------------------------------------------------------------------


def _fanout_expected(ctx: Context, node: Node, parent: Node, p: int) -> Expected:
    f = node.fanout
    assert f is not None  # the caller handles a fact without fanout
    levels = _activity_levels(parent)
    v = parent.activity.cv2 if parent.activity is not None else 0.0
    mean = var = log_p0 = 0.0
    counted = 0  # parents the fanout's `where` holds for (the others have no child)
    for m, ok, reg in _parent_terms(ctx, node, parent, p):
        counted += int(ok.sum())
        m = m[ok]
        if f.every is None:
            # A mixture over each parent's own level: the mean and the expected variance averaged over
            # the level's quantiles, plus the spread of the mean itself (at most (λ·m)² × Var(level)).
            parts = [_moments(f, m * level) for level in levels]
            a = sum(x[0] for x in parts) / len(parts)
            b = sum(x[1] for x in parts) / len(parts)
            if v and f.lambda_ is not None:
                b += v * float(((f.lambda_ * np.maximum(m, 0.0)) ** 2).sum())
            c = max(x[2] for x in parts)
        elif f.distribution == "constant":  # `count` per period of each life (x its state's weight)
            a = float((reg.periods[ok] * f.constant_count).sum())
            b, c = float(reg.var[ok].sum()), float(reg.log_p0[ok].sum())
        else:  # Poisson over all the periods of a life, mixed over the parent's level
            assert f.lambda_ is not None
            mu = f.lambda_ * np.maximum(m, 0.0) * reg.periods[ok]
            a, b, c = float(mu.sum()), float(mu.sum() + v * (mu**2).sum()), float(-mu.sum())
        mean, var, log_p0 = mean + a, var + b, log_p0 + c
    rate = f.every is None and not rated(node, parent)  # a parent never alive has no child
    lo = (f.min or 0) * counted if rate else 0
    hi = f.max * counted if f.max is not None and f.every is None else math.inf
    sd = math.sqrt(var)
    slack = 1.0 + 0.002 * mean  # multipliers are grouped to 0.2 %
    low, high = max(lo, mean - Z * sd - slack), min(hi, mean + Z * sd + slack)
    if var == 0:  # an exact count
        low, high = mean, mean
    what = f"{f.distribution} fanout" + (f" every '{f.every}'" if f.every else "")
    where = f" ({counted:,} where {f.where!r} holds)" if f.where else ""
    how = f"{what} over {p:,} {parent.id} rows{where}: mean {mean:,.1f}, sd {sd:,.1f}, within {Z:g} sd"
    return Expected(low, high, how, mean, sd, log_p0)


ACTIVITY_QUANTILES = 32  # the level's quantiles a mixture is averaged over


def _activity_levels(parent: Node) -> np.ndarray:
    """Quantiles of the parent's normalised activity level (one level, 1, without `activity`), from a
    sample of the declared distribution (its definition, with a stream of the validator's own)."""
    if parent.activity is None:
        return np.ones(1)
    draws = parent.activity.distribution.sample(np.random.default_rng(0), 200_000) / parent.activity.mean
    return np.quantile(draws, (np.arange(ACTIVITY_QUANTILES) + 0.5) / ACTIVITY_QUANTILES)


@dataclass
class _Regular:
    """Per parent row of a regular series: its periods (each at the weight of the parent's state then,
    with `active_in`), and its count's variance and log P(0) when the count per period is constant."""

    periods: np.ndarray
    var: np.ndarray
    log_p0: np.ndarray

    @staticmethod
    def of(periods: np.ndarray, per: int) -> _Regular:
        """Exactly `per` rows in each period."""
        return _Regular(periods, np.zeros(len(periods)), np.where(periods * per > 0, -np.inf, 0.0))


def _parent_terms(ctx: Context, node: Node, parent: Node, p: int):  # -> Iterator[tuple[np.ndarray, ...]]
    """Per chunk of parent rows: each row's fanout multiplier (ones when none applies; below 0 when the
    row is never alive inside the window), whether the fanout's `where` holds for it, and for a regular
    series its periods (`_Regular`)."""
    f = node.fanout
    assert f is not None
    reads = [r for block in parent.behaviours for r in block.reads(parent, ctx.schema)]
    reads += [r for effect in node.modifiers for r in effect.fanout_reads(node, ctx.schema)]
    reads += f.reads(node, ctx.schema)
    columns = {r.column for r in reads if r.table == parent.id}
    cond = parse_expression(f.where) if f.where else None
    rate = rated(node, parent)
    states = f.every is not None and node.active_in is not None
    plan = make_plan(ctx.schema) if rate else None
    if plan is not None:  # the parent's columns the child's own time is drawn after
        tcol = own_time_column(node) or ""
        bounds = plan.table(node.id).bounds.get(tcol, [])
        columns |= {b.source_column for b in bounds if b.path.tables == [parent.id]}
    if (rate or states) and parent.pk:
        columns.add(parent.pk)
    per = f.constant_count if f.distribution == "constant" else 1
    if not columns:
        for start in range(0, p, CHUNK_ROWS):
            n = min(CHUNK_ROWS, p - start)
            periods = np.full(n, _periods(ctx, f.every, None, None, n))
            yield np.ones(n), np.ones(n, dtype=bool), _Regular.of(periods, per)
        return
    weighted = _state_periods(ctx, node, parent) if states else None
    effects = _effect_tables(ctx, node)
    tf = ctx.schema.timeframe
    span = (int(to_us(tf.start_dt)), int(to_us(tf.end_dt)))
    names = sorted(columns)
    ctx.require(parent.id, names)  # a hidden helper is lent to the view (hidden.py)
    # A cursor of its own: the stream stays open while other checks may use the main connection.
    reader = ctx.con.cursor().sql(f"SELECT {', '.join(q(c) for c in names)} FROM {q(parent.id)}")
    for batch in reader.to_arrow_reader(CHUNK_ROWS):
        n = batch.num_rows
        store = Store(columns=dict(effects.columns), rows=dict(effects.rows))
        store.columns[parent.id] = {c: _numpy(batch.column(i)) for i, c in enumerate(names)}
        store.rows[parent.id] = n
        rows = np.arange(n)
        m = fanout_multiplier(node, parent, store, rows, span, behaviour_engine)
        if plan is not None:
            if parent.lifetime is not None:
                store.lives[parent.id] = entity_life(parent.lifetime, store.columns[parent.id].get, n)
            engines = _DataStates(ctx, node, parent).engines
            share, alive = shares(ParentBlock(node, parent, store, plan, 0, 0, rows, span), engines)
            m = np.where(alive, m * share, -1.0)  # -1: never alive, so no child whatever min says
        ok = cond.holds(store.columns[parent.id], n) if cond else np.ones(n, dtype=bool)
        if weighted is not None and parent.pk:
            at = weighted.reindex(store.columns[parent.id][parent.pk]).fillna(0.0)
            reg = _Regular(*(at[c].to_numpy(float) for c in ("periods", "var", "log_p0")))
        else:
            life = [parent.life_start_column(), parent.life_end_column()]
            born, ends = (store.columns[parent.id].get(c) if c else None for c in life)
            reg = _Regular.of(_periods(ctx, f.every, born, ends, n), per)
        yield m, ok, reg


def _state_periods(ctx: Context, node: Node, parent: Node) -> pd.DataFrame:
    """Per parent key, a regular series' periods at the weight of the state its walk is in when each
    starts (`active_in`, from the walk table in the data), and — for a constant count c, which gives
    floor(P·c·w + φ) rows to a stretch of P periods in one state, φ uniform — the variance and log P(0)
    of its rows. Parents with no stretch of positive weight are left out (no rows)."""
    f = node.fanout
    assert f is not None and f.every is not None
    tf = ctx.schema.timeframe
    t0, t1 = int(to_us(tf.start_dt)), int(to_us(tf.end_dt))
    spans = regular_spans(ctx, node, parent)
    if spans is None:
        return pd.DataFrame(columns=["periods", "var", "log_p0"], dtype=float)
    s, e = spans["s"].to_numpy(np.int64), spans["e"].to_numpy(np.int64)
    periods = period_count(f.every, s, e, t0, t1) * spans["w"].to_numpy(float)
    x = periods * (f.constant_count if f.distribution == "constant" else 1)
    frac = x - np.floor(x)
    with np.errstate(divide="ignore"):
        log_p0 = np.where(x >= 1, -np.inf, np.log1p(-np.minimum(x, 1.0)))
    terms = pd.DataFrame({"k": spans["k"], "periods": periods, "var": frac * (1 - frac), "log_p0": log_p0})
    return terms.groupby("k")[["periods", "var", "log_p0"]].sum()


def _periods(ctx: Context, every: str | None, start: np.ndarray | None, end: np.ndarray | None, n: int):
    """Periods of `every` starting inside each life cut to the timeframe (0 without `every`)."""
    if every is None:
        return np.zeros(n)
    tf = ctx.schema.timeframe
    t0, t1 = int(to_us(tf.start_dt)), int(to_us(tf.end_dt))

    def us(values: np.ndarray | None, default: int) -> np.ndarray:
        if values is None:
            return np.full(n, default, dtype=np.int64)
        t = values.astype("datetime64[us]")
        return np.where(np.isnat(t), default, t.astype(np.int64))

    s, e = np.maximum(us(start, t0), t0), np.minimum(us(end, t1), t1)
    return period_count(every, s, np.maximum(e, s), t0, t1).astype(float)


class _DataStates(BehaviourEngine[ActiveIn]):
    """`active_in` read from the walk table in the data (not re-run): each parent's state weights over
    time, as the engine's intensity takes them."""

    def __init__(self, ctx: Context, node: Node, parent: Node) -> None:
        self.ctx, self.node, self.parent = ctx, node, parent

    def engines(self, spec: BehaviourBlock) -> BehaviourEngine:
        return self if isinstance(spec, ActiveIn) else behaviour_engine(spec)

    def rate_steps(self, spec: ActiveIn, pb: ParentBlock) -> list[Steps]:
        walk = self.ctx.schema.node(spec.walk)
        link = self.ctx.link(spec.walk, self.parent.id)
        assert walk is not None and walk.walk is not None and self.parent.pk is not None
        cols = walk.walk.walk_columns(walk)
        if link is None or cols.time is None:
            return []
        fk = link[0]
        # in the walk's order (by its key): states a walk kept as dates enters on one day hold in turn
        sql = (
            f"SELECT {q(fk)} AS id, {q(cols.time)} AS t, CAST({q(cols.label)} AS VARCHAR) AS state "
            f"FROM {q(spec.walk)} ORDER BY {q(walk.pk) if walk.pk else '0'}"
        )
        rows = self.ctx.con.cursor().sql(sql).fetchnumpy()
        keys = pb.column(self.parent.pk)
        index = np.asarray(pd.Index(keys).get_indexer(np.asarray(rows["id"])))
        found = index >= 0
        parent = index[found]
        time = us_or(np.asarray(rows["t"])[found], INT64_MIN)
        states = pd.Series(np.asarray(rows["state"], dtype=object)[found], dtype=object)
        weight = states.map(spec.states).fillna(0.0).to_numpy(float)
        n = len(keys)
        parent = np.concatenate([np.arange(n), parent])
        time = np.concatenate([np.full(n, INT64_MIN), time])
        weight = np.concatenate([np.zeros(n), weight])
        order = np.lexsort((time, parent))
        return [Steps(parent[order], time[order], weight[order])]


def _effect_tables(ctx: Context, node: Node) -> Store:
    """The effect tables of a fact's table-level effects, whole, as the engine's store holds them."""
    store = Store()
    for effect in node.modifiers:
        a = effect.args
        cols = {*a.on.values(), a.window.start_col, a.window.end_col, a.map.field}
        names = sorted(cols)
        ctx.require(a.effect_table, names)  # a hidden field is lent to the view (hidden.py)
        sql = f"SELECT {', '.join(q(c) for c in names)} FROM {q(a.effect_table)}"
        table = ctx.con.cursor().sql(sql).to_arrow_table()
        store.columns[a.effect_table] = {c: _numpy(table.column(c)) for c in names}
        store.rows[a.effect_table] = table.num_rows
    return store


def _numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Arrow to the numpy the engine keeps: NaN / NaT / None for nulls, times as datetime64[us]."""
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        return values.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
    out = values.to_numpy(zero_copy_only=False)
    return out.astype(object) if out.dtype.kind in "UT" else out


def _moments(f: Fanout, m: np.ndarray) -> tuple[float, float, float]:
    """Sum over parents with multipliers `m` of the children count's mean, variance and log P(0)."""
    lo, hi = f.min or 0, (f.max if f.max is not None else math.inf)
    if f.distribution not in ("uniform", "constant"):
        mu = f.lambda_ * np.maximum(m, 0.0)  # m < 0: never alive (grouped below)
        k = f.dispersion or 1.0
        var = mu if f.distribution == "poisson" else mu * (1 + mu / k)
        sd = np.sqrt(var)
        free = (
            ((lo <= 0) | (lo <= mu - 12 * sd)) & (hi >= mu + 12 * sd) & (mu > 0)
        )  # counts are never below 0
        log_p0 = -mu[free] if f.distribution == "poisson" else k * np.log(k / (k + mu[free]))
        totals = np.array([mu[free].sum(), var[free].sum(), log_p0.sum()])
        rest = m[~free]
    else:
        totals, rest = np.zeros(3), m
    if len(rest):
        keys, counts = np.unique(_bin(rest), return_counts=True)
        for key, count in zip(keys, counts, strict=True):
            totals += count * np.array(_one(f, _unbin(key), lo, hi))
    return float(totals[0]), float(totals[1]), float(totals[2])


NEVER = np.iinfo(np.int64).min + 1  # the group of parents never alive inside the window


def _bin(m: np.ndarray) -> np.ndarray:
    """Multipliers to integer groups 0.2 % wide (relative); 0 in a group of its own, and below 0 (never
    alive: no child) in another."""
    safe = np.where(m > 0, m, 1.0)
    zero = np.where(m < 0, NEVER, np.iinfo(np.int64).min)
    return np.where(m > 0, np.round(np.log(safe) * _BINS_PER_UNIT_LOG), zero).astype(np.int64)


def _unbin(key: int) -> float:
    if key == NEVER:
        return -1.0
    return 0.0 if key == np.iinfo(np.int64).min else math.exp(key / _BINS_PER_UNIT_LOG)


def _one(f: Fanout, m: float, lo: float, hi: float) -> tuple[float, float, float]:
    """Mean, variance and log P(0) of one parent's children count at multiplier m, after min/max,
    for the distribution the engine draws (engine/fanout.py); m < 0: never alive, no child."""
    if m < 0:
        return 0.0, 0.0, 0.0
    if f.distribution in ("uniform", "constant"):
        if f.distribution == "constant":
            ks = np.array([float(f.constant_count)])
        else:
            assert f.min is not None and f.max is not None  # the model requires both for a uniform fanout
            ks = np.arange(f.min, f.max + 1, dtype=float)
        if len(ks) > EXACT_SUPPORT:
            ks = np.linspace(ks[0], ks[-1], EXACT_SUPPORT)
        base = ks * m
        whole = np.floor(base)
        frac = base - whole
        a, b = np.clip(whole, lo, hi), np.clip(whole + 1, lo, hi)
        mean = float(np.mean((1 - frac) * a + frac * b))
        second = float(np.mean((1 - frac) * a**2 + frac * b**2))
        p0 = float(np.mean((1 - frac) * (a == 0) + frac * (b == 0)))
        return mean, max(second - mean**2, 0.0), math.log(p0) if p0 > 0 else -math.inf
    assert f.lambda_ is not None  # the model requires it for poisson and negative binomial
    mu = f.lambda_ * m
    if mu <= 0:
        return float(lo), 0.0, 0.0 if lo == 0 else -math.inf
    k = f.dispersion or 1.0
    sd = math.sqrt(mu if f.distribution == "poisson" else mu * (1 + mu / k))
    first, last = max(0, math.floor(mu - 12 * sd)), math.ceil(mu + 12 * sd) + 20
    if last - first > EXACT_SUPPORT:
        return (*_clipped_normal(mu, sd, lo, hi), -math.inf)
    x = np.arange(first, last + 1, dtype=float)
    lg = np.vectorize(math.lgamma)
    if f.distribution == "poisson":
        logp = x * math.log(mu) - mu - lg(x + 1)
    else:
        q_ = k / (k + mu)
        logp = lg(x + k) - math.lgamma(k) - lg(x + 1) + k * math.log(q_) + x * math.log1p(-q_)
    pmf = np.exp(logp - logp.max())
    pmf /= pmf.sum()
    y = np.clip(x, lo, hi)
    mean = float(np.sum(y * pmf))
    p0 = float(pmf[y == 0].sum())
    return mean, max(float(np.sum(y**2 * pmf)) - mean**2, 0.0), math.log(p0) if p0 > 0 else -math.inf


def _clipped_normal(mu: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    """Mean and variance of clip(N(mu, sd²), lo, hi): for counts too large to sum term by term."""

    def cdf(z: float) -> float:
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))

    def pdf(z: float) -> float:
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi) if math.isfinite(z) else 0.0

    a = (lo - mu) / sd
    b = (hi - mu) / sd if math.isfinite(hi) else math.inf
    fa, fb = cdf(a), cdf(b) if math.isfinite(b) else 1.0
    pa, pb = pdf(a), pdf(b)
    inside = fb - fa
    hi_part = hi * (1 - fb) if math.isfinite(hi) else 0.0
    mean = lo * fa + hi_part + mu * inside + sd * (pa - pb)
    b_term = b * pb if math.isfinite(b) else 0.0
    second_inside = (mu**2 + sd**2) * inside + 2 * mu * sd * (pa - pb) + sd**2 * (a * pa - b_term)
    second = lo**2 * fa + (hi**2 * (1 - fb) if math.isfinite(hi) else 0.0) + second_inside
    return mean, max(second - mean**2, 0.0)
