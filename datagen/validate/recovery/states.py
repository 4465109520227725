"""State models (docs/schema-language.md §8.4): the per-period hazard of leaving each Markov state (exits
over the time at risk, censored spells included, as 1 - e^-rate), the next-state split and the mean
duration of semi-Markov states (only spells with enough time left to end), per segment; and the walk's
bookkeeping (initial, previous state, terminal). A walk is observed until its parent's end of life
(when a share of parents end) or the timeframe end."""

from __future__ import annotations

import math

import duckdb

from datagen.dsl.behaviours import Duration, StateTransitionModel
from datagen.dsl.models import Node, Schema
from datagen.dsl.units import UNIT_US
from datagen.validate.context import q, sql_text
from datagen.validate.recovery.common import (
    MIN_GROUP,
    UNKEYED_WALKS,
    Finding,
    Recovered,
    Skipped,
    after_the_end,
    binomial_se,
    bookkeeping,
    observed_until,
    sample_mean,
    timeframe,
    walk_rows,
)


def duration_mean(d: Duration) -> float:
    if d.distribution == "uniform":
        return (d.low + d.high) / 2
    return d.mean


def duration_horizon(d: Duration) -> float:
    """In periods: a duration longer than this is rarer than 1 in 1000."""
    if d.distribution == "lognormal":
        sigma = d.lognormal_sigma
        return math.exp(math.log(d.mean) - sigma**2 / 2 + 3.1 * sigma)
    if d.distribution == "exponential":
        return d.mean * math.log(1000)
    if d.distribution == "uniform":
        return d.high
    return d.mean


def declared_transitions(sm: StateTransitionModel, segment: str | None) -> dict[str, tuple[float, dict]]:
    """Per non-terminal state, for a parent in `segment`: the probability of leaving per period (1 for a
    semi-Markov state, which leaves when its duration ends) and the split over next states.
    docs/schema-language.md §8.4: the segment's churn_multiplier multiplies the probability of going to a
    terminal state."""
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
            assert p is not None  # a Markov state has one (the model checks it)
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
    start, end = timeframe(schema)
    out: list[Finding] = []
    for node in schema.nodes:
        sm = node.state_transition_model
        if sm is None:
            continue
        cols = sm.walk_columns(node)
        has_prev = cols.extra is not None
        prev = f"CAST(s.{q(cols.extra)} AS VARCHAR)" if cols.extra else "NULL"
        rows = walk_rows(
            schema,
            node,
            cols,
            f"{prev} AS prev",
            f"CAST(s.{q(cols.label)} AS VARCHAR) AS state",
            f"{observed_until(schema, node, end)} AS until",
        )
        if rows is None:
            out.append(Skipped("state", node.id, None, "state model", UNKEYED_WALKS))
            continue
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE __datagen_spells AS
                SELECT *, lead(state) OVER w AS nxt, lead(t) OVER w AS t_next, lag(state) OVER w AS lag_state,
                       row_number() OVER w AS rn
                FROM ({rows}) WINDOW w AS (PARTITION BY id ORDER BY t, pk)"""
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
    """Markov states: a state lasts an exponential time whose chance of ending within one period is
    the declared probability p, so exits over the time at risk (censored spells count the time they
    were seen) estimate the rate -ln(1 - p)."""
    period = UNIT_US[sm.period_unit]
    markov = [name for name, s in sm.states.items() if not s.terminal and s.duration is None]
    if not markov:
        return []
    rows = con.execute(
        f"""SELECT seg, state, count(nxt), sum(greatest(coalesce(t_next, until) - t, 0) / {period})
            FROM __datagen_spells WHERE state IN ({", ".join(sql_text(s) for s in markov)})
            GROUP BY 1, 2 ORDER BY 1, 2"""
    ).fetchall()
    out: list[Finding] = []
    for seg, state, exits, exposure in rows:
        if exposure is None or exposure < MIN_GROUP:
            continue
        p = declared_transitions(sm, seg)[state][0]
        rate = -math.log1p(-min(p, 1 - 1e-12))
        out.append(
            Recovered(
                "state",
                node.id,
                None,
                f"per-{sm.period_unit} hazard of leaving a state",
                f"{state} ({seg})",
                p,
                -math.expm1(-exits / exposure),
                (1 - p) * math.sqrt(max(rate, 1.0 / exposure) / exposure),
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
                        binomial_se(p, n),
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
        horizon = duration_horizon(spec.duration) * period  # spells seen this long have ended
        n, mean, sd = con.execute(
            f"""SELECT count(*), avg((t_next - t) / {period}), stddev_samp((t_next - t) / {period})
                FROM __datagen_spells WHERE state = {sql_text(name)} AND t <= until - {horizon}"""
        ).fetchall()[0]
        if n >= MIN_GROUP and mean is not None:
            declared = duration_mean(spec.duration)
            subject = f"mean duration of a semi-Markov state ({sm.period_unit}s)"
            out.append(sample_mean("state", node.id, subject, name, declared, n, mean, sd))
    return out


def _state_bookkeeping(con, node: Node, sm, has_prev: bool, start: int, end: int) -> list[Finding]:
    """One row per entered state: the first is the initial state, each row's previous state is the row
    before, nothing follows a terminal state, times stay inside the timeframe."""
    terminal = ", ".join(sql_text(name) for name, s in sm.states.items() if s.terminal) or "NULL"
    prev_bad = "OR prev IS DISTINCT FROM lag_state" if has_prev else ""
    n, bad = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE (rn = 1 AND state <> {sql_text(sm.initial_state)})
                   {prev_bad} OR t < {start} OR {after_the_end(end, "rn = 1")}
                   OR (nxt IS NOT NULL AND state IN ({terminal})))
            FROM __datagen_spells"""
    ).fetchall()[0]
    return [bookkeeping("state", node.id, "breaking initial / previous / terminal / timeframe", bad, n)]
