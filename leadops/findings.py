"""Findings about a refresh's scores as a whole, in words: none scored.

An empty lead_scores only surfaced as a crash of the predictions step.
"""

from __future__ import annotations

from datetime import date

import duckdb

from leadops.sql import table_exists


def no_leads_scored(con: duckdb.DuckDBPyConnection, as_of: date) -> str | None:
    """Why marts.lead_scores is empty, or None when it is not."""
    if con.execute("select count(*) from marts.lead_scores").fetchone()[0]:
        return None
    loaded = con.execute("select count(*) from raw.leads").fetchone()[0] if table_exists(con, "raw", "leads") else 0
    why = (
        "no leads file has been loaded (a rejected file says why above)"
        if not loaded
        else f"none of the {loaded} leads in raw.leads was created by {as_of}"
    )
    return f"no leads scored as of {as_of}: {why}"
