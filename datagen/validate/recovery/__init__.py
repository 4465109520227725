"""Behaviour checks (docs/schema-language.md §4.2 `trend`, §8): recover every declared behavioural parameter
from the data with the analysis an analyst would run, and compare it with the schema.

Each recovery is one SQL aggregation over the table views (so Parquet of any size works) plus a little
arithmetic on the aggregates. A recovered value passes when it is within z standard errors of the
declared one (and never held tighter than a small floor): the tolerance follows the sample size, so a
small preview is not failed for noise and a large run is held to the declared numbers. Standard errors
are conservative (the covariance between the two halves of a ratio is ignored).

One module per behaviour says what it recovers: trend.py, segments.py, vintage.py, stages.py (funnels),
states.py (state models), lives.py (children inside their parent's life, lifetimes, state_at),
activity.py (activity levels, rates by state) and diffusion.py (adoption curves); common.py holds
what they share and checks.py turns their findings into validation results. Censoring at the
timeframe end (and at a parent's end of life) is handled as an analyst should: funnel and duration
statistics only use parents with enough time left for the walk to be complete."""

from __future__ import annotations

import duckdb

from datagen.dsl.models import Schema
from datagen.validate.behaviour import register
from datagen.validate.recovery.activity import recover_activity, recover_state_rates
from datagen.validate.recovery.checks import Recovery, results
from datagen.validate.recovery.common import Finding
from datagen.validate.recovery.diffusion import recover_diffusion
from datagen.validate.recovery.lives import recover_lives
from datagen.validate.recovery.segments import recover_segments
from datagen.validate.recovery.stages import recover_stages
from datagen.validate.recovery.states import recover_states
from datagen.validate.recovery.trend import recover_trends
from datagen.validate.recovery.vintage import recover_vintage

RECOVERIES: dict[str, Recovery] = {
    "trend": recover_trends,
    "segments": recover_segments,
    "vintage": recover_vintage,
    "stages": recover_stages,
    "states": recover_states,
    "lives": recover_lives,
    "activity": recover_activity,
    "state_rates": recover_state_rates,
    "diffusion": recover_diffusion,
}


def recover_all(con: duckdb.DuckDBPyConnection, schema: Schema) -> list[Finding]:
    """Every behaviour the schema declares, recovered from the tables on `con` (one view per table id)."""
    return [f for recover in RECOVERIES.values() for f in recover(con, schema)]


def _register(family: str, recover: Recovery) -> None:
    register(family)(lambda ctx: results(ctx, family, recover))


for _family, _recover in RECOVERIES.items():
    _register(_family, _recover)
