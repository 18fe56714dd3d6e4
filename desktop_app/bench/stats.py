"""Percentiles for the benchmark report."""

from __future__ import annotations

import numpy as np


def percentiles(values: list[float]) -> dict[str, float | None]:
    clean = [v for v in values if v is not None]
    if not clean:
        return {"p50": None, "p90": None}
    return {"p50": round(float(np.percentile(clean, 50)), 1), "p90": round(float(np.percentile(clean, 90)), 1)}
