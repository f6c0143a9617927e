"""The calibration report's ROC AUC, computed in SQL, against scikit-learn's."""

from datetime import date

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from orchestration.scoring import CONVERTERS_AND_AUC


def _warehouse(con, scores: list[float], won: list[bool]) -> None:
    """The three tables the report reads, one lead per score; the won ones closed before as_of."""
    for schema in ("staging", "marts", "config"):
        con.execute(f"create schema {schema}")
    con.execute("create table config.bands as select 'segment' as band_type, 'sql' as label, 1 as band_rank")
    con.execute(
        "create table marts.lead_scores (lead_id varchar, score decimal(12, 2), segment varchar, as_of_date date)"
    )
    con.executemany(
        "insert into marts.lead_scores values (?, ?, 'cold', ?)",
        [(f"L{i}", s, date(2024, 3, 1)) for i, s in enumerate(scores)],
    )
    con.execute("create table staging.stg_raw__conversions (lead_id varchar, is_won boolean, occurred_at timestamp)")
    con.executemany(
        "insert into staging.stg_raw__conversions values (?, true, '2024-02-01')",
        [(f"L{i}",) for i, w in enumerate(won) if w],
    )


def _auc(con) -> float:
    return con.execute(CONVERTERS_AND_AUC).fetchone()[2]


def test_every_score_tied_gives_an_auc_of_one_half(con):
    """X Education: every score 0, and the report said -0.313."""
    _warehouse(con, [0.0] * 40, [i % 4 == 0 for i in range(40)])
    assert _auc(con) == 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_auc_agrees_with_scikit_learn_on_scores_with_ties(con, seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 12, size=500).astype(float)  # few distinct values: many ties
    won = rng.random(500) < 0.1 + scores / 30
    _warehouse(con, scores.tolist(), won.tolist())
    assert _auc(con) == pytest.approx(roc_auc_score(won, scores), abs=1e-6)
