"""`leadops demo-data --shape fivetran-hubspot` writes the demo CRM as Fivetran's HubSpot tables, at
any volume, and the fivetran-hubspot preset scores every lead of it with nothing quarantined."""

import contextlib
import io

import duckdb
import pytest

from cli.main import main

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"


def test_the_demo_crm_in_fivetrans_shape_scores_whole(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        shaped = main(
            ["demo-data", "--shape", "fivetran-hubspot", "--leads", "400", "--out", str(landing), "--end-date", AS_OF]
        )
        run = main(
            [
                "run",
                "--source",
                "fivetran-hubspot",
                "--landing",
                str(landing),
                "--warehouse",
                str(warehouse),
                "--as-of",
                AS_OF,
                "--quiet",
            ]
        )
    assert (shaped, run) == (0, 0), output.getvalue()
    assert "web and content events have no table in Fivetran's HubSpot schema: not written" in output.getvalue()

    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = con.execute(
            "select (select count(*) from raw.leads), (select count(*) from marts.lead_scores), "
            "(select count(*) from raw.quarantine), (select count(*) from raw.conversions where stage = 'closed_won')"
        ).fetchone()
        types = dict(con.execute("select event_type, count(*) from raw.activity group by 1").fetchall())
        lifecycle = con.execute(
            "select count(*) from raw.lead_attributes where attribute = 'lifecycle_stage' and value = 'customer'"
        ).fetchone()
    assert counts[:3] == (400, 400, 0)
    assert counts[3] > 0 and lifecycle == (counts[3],)  # every closed_won deal's contact is a customer
    assert set(types) == {"email_delivered", "email_open", "email_click", "unsubscribe", "form_submission"}
