"""A custom field the CRM keeps a history of is read as it was just before each lead's scoring date,
so a value sales filled in after contact cannot leak into training; the others as they are now."""

import duckdb

from leadops.loader import ensure_raw_schema
from leadops.predictive.evaluation import report_frame
from leadops.predictive.features import Feature, _custom_cte, fields_with_history
from leadops.predictive.relations import DEFAULT_RELATIONS


def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_raw_schema(con)
    con.execute(
        "insert into raw.leads (lead_id, email, created_at, _batch_id, _file_name, _line_number) values "
        "('L1', 'a@x.io', '2026-04-01', 1, 'f', 2), ('L2', 'b@x.io', '2026-03-01', 1, 'f', 3), "
        "('L3', 'c@x.io', '2026-04-01', 1, 'f', 4)"
    )
    con.execute(
        "insert into raw.lead_attributes values "
        "('L1', 'lead_quality', 'High', 1, 'f', 2), ('L1', 'budget', '500', 1, 'f', 2), "
        "('L2', 'lead_quality', 'High', 1, 'f', 3), ('L3', 'lead_quality', 'Medium', 1, 'f', 4)"
    )
    con.execute(
        "insert into raw.attribute_history values "
        "('L1', 'Lead Quality', 'High', '2026-05-10', 2, 'h', 2), "  # filled in after L1's scoring date
        "('L2', 'lead_quality', 'Low', '2026-04-01', 2, 'h', 3), "
        "('L2', 'lead_quality', 'High', '2026-05-10', 2, 'h', 4)"
    )
    con.execute(
        "create temp table _pit as select * from (values ('L1', timestamp '2026-05-01'), "
        "('L2', timestamp '2026-05-01'), ('L3', timestamp '2026-05-01')) as t(lead_id, cutoff)"
    )
    return con


def test_a_field_with_a_history_is_read_as_of_the_cutoff_and_one_without_as_it_is():
    con = warehouse()
    assert fields_with_history(con) == {"lead_quality"}
    features = [
        Feature("cf__lead_quality", "categorical", "lead_quality", "custom field", from_history=True),
        Feature("cf__budget", "numeric", "budget", "custom field"),
    ]
    custom = _custom_cte(features, DEFAULT_RELATIONS)
    sql = f"with pit as (select * from _pit), {custom} select * from custom order by lead_id"
    rows = con.execute(sql).fetchall()

    assert rows == [
        ("L1", None, 500.0),  # High came after its scoring date: unknown then
        ("L2", "Low", None),  # as it was on 05-01, not the High of later
        ("L3", "Medium", None),  # no history of its own: its current value
    ]


def test_the_model_report_says_how_each_custom_field_was_read():
    features = [
        Feature("cf__lead_quality", "categorical", "lead_quality", "custom field", from_history=True),
        Feature("cf__budget", "numeric", "budget", "custom field"),
    ]
    figures = {"roc_auc": 0.7, "pr_auc": 0.3, "brier": 0.2, "base_rate": 0.1, "deciles": [], "calibration": []}
    summary = {
        "model": figures,
        "rule_score": figures,
        "holdout_rows": 10,
        "holdout_conversions": 2,
        "split_method": "time-ordered",
        "model_type": "logistic",
        "feature_set": "all",
        "validation_roc_auc": {},
    }
    notes = report_frame("v1", summary, features, [], {}).query("section == 'feature'").set_index("item")["note"]

    assert notes["lead_quality"] == "categorical, custom field, read as of each lead's scoring date (history)"
    assert notes["budget"] == "numeric, custom field, read as it is now (no history)"
