"""How far a statistic may stray from its expectation before a behavioural check calls it a failure.

A share p measured on n rows has standard error sqrt(p(1-p)/n); a check allows z of them (z = 4 by
default: over the ~50 strata of a run, a false alarm on clean data is rarer than 1 in 300) and never
less than an absolute floor, which covers what the expectation approximates (bucket edges, clipping)."""

from __future__ import annotations

import math


def share_tolerance(p: float, n: int, z: float, floor: float) -> float:
    if n <= 0:
        return 1.0
    p = min(max(p, 0.0), 1.0)
    return max(floor, z * math.sqrt(p * (1 - p) / n))
