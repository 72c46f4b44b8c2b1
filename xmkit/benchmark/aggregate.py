"""What leaves an assessment for the benchmark: aggregated scores of groups large enough.

Only the overall, category and practice scores of the whole organization are kept, each with
its number of respondents (n); question scores, answers, comments and respondent ids never
are. An assessment with fewer respondents than the minimum group size is refused, and a
category or practice answered by fewer than that many is left out.
"""

from __future__ import annotations

import pandas as pd

from xmkit.analysis.score import score
from xmkit.benchmark.store import LEVELS, Entry
from xmkit.errors import Problem, XmkitError
from xmkit.framework import Framework

__all__ = ["entry_from_responses"]


def entry_from_responses(
    data: pd.DataFrame,
    framework: Framework,
    *,
    client_key: str,
    period: str,
    industry: str,
    size_band: str = "",
    region: str = "",
    min_group_size: int | None = None,
    source: str = "responses",
) -> Entry:
    """Score the responses (no bootstrap) and keep only what the benchmark stores."""
    min_size = max(min_group_size or 0, framework.thresholds.min_group_size)
    scores = score(data, framework, min_group_size=min_size, n_boot=0)
    overall = scores[scores["level"] == "overall"].iloc[0]
    if overall["suppressed"]:
        raise XmkitError(
            Problem(
                source,
                f"only {int(overall['n'])} respondents: nothing is stored for groups below the "
                f"minimum group size",
                expected=f"at least {min_size} respondents",
            )
        )
    kept = scores[scores["level"].isin(LEVELS) & ~scores["suppressed"]]
    return Entry(
        client_key=client_key,
        period=period,
        industry=industry,
        size_band=size_band,
        region=region,
        framework_id=framework.id,
        framework_version=framework.version,
        respondents=int(overall["n"]),
        stage=None if pd.isna(overall["stage"]) else int(overall["stage"]),
        scores=pd.DataFrame(
            {
                "level": kept["level"].to_numpy(),
                "item_id": kept["id"].to_numpy(),
                "n": kept["n"].astype(int).to_numpy(),
                "score": kept["score"].astype(float).to_numpy(),
            }
        ),
    )
