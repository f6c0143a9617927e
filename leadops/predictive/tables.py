"""The tables the predictive code creates, each declared here once: its place and its columns.

Kept apart from storage.py so that the Dagster definitions can name these tables as assets without
importing pandas or scikit-learn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leadops.predictive.relations import Relation


@dataclass(frozen=True)
class Table:
    relation: Relation
    columns: str  # "name type [not null], ...", as in a create table statement

    def __str__(self) -> str:
        return str(self.relation)

    @property
    def column_names(self) -> list[str]:
        # A comma inside parentheses (decimal(12, 2)) does not end a column.
        return [column.split()[0] for column in re.split(r",\s*(?![^()]*\))", self.columns)]

    def create(self, replace: bool = False) -> str:
        verb = "create or replace table" if replace else "create table if not exists"
        return f"{verb} {self.relation} ({self.columns})"


MODEL_VERSIONS = Table(
    Relation("marts", "model_versions"),
    "model_version varchar not null, status varchar not null, as_of_date date not null, "
    "trained_at timestamp, model_type varchar, outcome_stage varchar, training_window_start date, "
    "training_window_end date, holdout_start date, training_rows bigint, training_conversions bigint, "
    "holdout_rows bigint, holdout_conversions bigint, split_method varchar, roc_auc double, pr_auc double, "
    "brier double, rule_roc_auc double, rule_pr_auc double, rule_brier double, features varchar, "
    "excluded varchar, model_path varchar, training_seconds double, seed integer, message varchar",
)
MODEL_REPORT = Table(
    Relation("marts", "model_report"),
    "model_version varchar not null, section varchar not null, scorer varchar not null, item varchar not null, "
    "item_order integer not null, leads bigint, conversions bigint, conversion_rate double, lift double, "
    "mean_probability double, value double, note varchar",
)
LEAD_PREDICTIONS = Table(
    Relation("marts", "lead_predictions"),
    "lead_id varchar not null, as_of_date date not null, conversion_probability double not null, "
    "decile integer not null, model_version varchar not null, top_positive_factors varchar, "
    "top_negative_factors varchar, rule_score decimal(12, 2), rule_segment varchar, segment varchar",
)
MODEL_TABLES = (MODEL_VERSIONS, MODEL_REPORT, LEAD_PREDICTIONS)
