"""Rank ranges of a league table: the places a group can hold, given its score's interval.

A ranking by point scores alone puts 2.53 above 2.52 as if the difference were known. Here a
group ranks below another only when the two 95% intervals do not overlap (the other's low end
lies above this one's high end). Definition, after Goldstein & Spiegelhalter (1996), "League
tables and their limitations", JRSS A 159(3), 385-443, who show ranks with intervals:

* ``rank_best``  = 1 + the number of groups whose interval lies wholly above this group's;
* ``rank_worst`` = N - the number of groups whose interval lies wholly below this group's.

Groups whose intervals overlap share part of their range: the data cannot order them, which is
a tie. Non-overlap of two 95% intervals is a conservative test of a difference (Schenker &
Gentleman 2001, "On judging the significance of differences by examining the overlap between
confidence intervals", The American Statistician 55(3), 182-186), so a range errs towards a tie.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["rank_label", "rank_ranges"]


def rank_ranges(score: pd.Series, low: pd.Series, high: pd.Series) -> pd.DataFrame:
    """``rank_best`` and ``rank_worst`` (1 = highest) of each group (the module's definition).

    A group without an interval counts as the point ``score`` (its interval is ``[score,
    score]``). Returns a frame on ``score``'s index.
    """
    s = score.to_numpy(dtype=float)
    lo = np.where(np.isfinite(low.to_numpy(dtype=float)), low.to_numpy(dtype=float), s)
    hi = np.where(np.isfinite(high.to_numpy(dtype=float)), high.to_numpy(dtype=float), s)
    above = (lo[None, :] > hi[:, None]).sum(axis=1)  # row i: groups wholly above i
    below = (hi[None, :] < lo[:, None]).sum(axis=1)  # row i: groups wholly below i
    return pd.DataFrame(
        {"rank_best": 1 + above, "rank_worst": len(s) - below}, index=score.index
    ).astype(int)


def rank_label(best: int, worst: int) -> str:
    """``"5"`` for a known place, ``"4-7"`` for a range shared with overlapping groups."""
    return str(best) if best == worst else f"{best}\u2013{worst}"
