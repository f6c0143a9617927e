"""What the latest training attempt said, dated: a refresh may quote an attempt weeks older than its scores."""

from __future__ import annotations

from datetime import date

import duckdb

from leadops.sql import table_exists


def last_training_attempt(con: duckdb.DuckDBPyConnection, as_of: date | None = None) -> str | None:
    """`the last training attempt, as of D (N days before A): <its message>`, or None if none was made.
    `as_of` is the date the caller scores as of (default: that of marts.lead_scores)."""
    if not table_exists(con, "marts", "model_versions"):
        return None
    row = con.execute(
        "select as_of_date, message from marts.model_versions order by trained_at desc limit 1"
    ).fetchone()
    if row is None:
        return None
    trained_as_of, message = row
    if as_of is None and table_exists(con, "marts", "lead_scores"):
        (as_of,) = con.execute("select max(as_of_date) from marts.lead_scores").fetchone()
    age = f" ({(as_of - trained_as_of).days} days before {as_of})" if as_of and as_of > trained_as_of else ""
    return f"the last training attempt, as of {trained_as_of}{age}: {message}"
