"""Paired bootstrap intervals: is one system better than another on the same rows, or is it noise?

Two systems scored on the same rows (a snapshot's held-out split) are compared by resampling the
rows with replacement, ``resamples`` times, and recomputing the metric of both systems on each
resample from per-row statistics (so corpus metrics such as chrF are recomputed, not averaged).
The interval is the central ``confidence`` share of the resampled differences (percentile
bootstrap; Koehn 2004, "Statistical significance tests for machine translation evaluation").

:class:`Interval` states a gain *in the metric's good direction*: positive means the first
system is better, whether higher or lower is better for the metric.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pydantic import BaseModel

# a metric computed on a subset of rows: f(indices) -> value
RowMetric = Callable[[np.ndarray], float]


class Interval(BaseModel):
    """The gain of one system over another (positive = better), with its bootstrap interval."""

    gain: float
    low: float
    high: float
    confidence: float = 0.95
    resamples: int = 1000

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return f"{self.gain:+.3g} [{self.low:+.3g}, {self.high:+.3g}]"


def paired_bootstrap(first: RowMetric, second: RowMetric, n_rows: int, *, higher_is_better: bool = True,
                     resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> Interval:
    """The gain of ``first`` over ``second`` on ``n_rows`` paired rows, with its interval.

    Both functions are called on the same resampled row indices; with no rows the gain is 0 and
    the interval is [0, 0].
    """
    if n_rows == 0:
        return Interval(gain=0.0, low=0.0, high=0.0, confidence=confidence, resamples=resamples)
    sign = 1.0 if higher_is_better else -1.0
    everything = np.arange(n_rows)
    gain = sign * (first(everything) - second(everything))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_rows, size=(resamples, n_rows))
    gains = np.array([sign * (first(idx) - second(idx)) for idx in draws])
    tail = (1 - confidence) / 2
    low, high = np.quantile(gains, [tail, 1 - tail])
    return Interval(gain=float(gain), low=float(low), high=float(high), confidence=confidence, resamples=resamples)


def mean_interval(values, *, confidence: float = 0.95, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:  # noqa: ANN001
    """The percentile-bootstrap interval of the mean of per-row values (the rows resampled); NaNs
    when there are none. One system's accuracy with its uncertainty, where :func:`paired_bootstrap`
    compares two."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(values), size=(resamples, len(values)))
    tail = (1 - confidence) / 2
    low, high = np.quantile(values[draws].mean(axis=1), [tail, 1 - tail])
    return float(low), float(high)
