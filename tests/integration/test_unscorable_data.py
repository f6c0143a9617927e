"""Data the rules cannot score or rank, through the whole graph: each says so once, nothing crashes."""

from pathlib import Path

import duckdb
import pytest

from cli.main import main
from leadops.settings import published_folder

pytestmark = pytest.mark.integration
AS_OF = "2026-06-30"


def _run(landing: Path, warehouse: Path, capsys, monkeypatch) -> tuple[int, str]:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("LEADOPS_PUBLISHED", raising=False)
    code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", AS_OF])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _leads(landing: Path, text: str) -> None:
    (landing / "leads").mkdir(parents=True)
    (landing / "leads" / "leads.csv").write_text(text)


def test_a_refresh_whose_every_leads_file_is_rejected_reports_no_leads_scored_once(tmp_path, capsys, monkeypatch):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    _leads(landing, "lead_id,email\nL1,ann@acme.io\n")  # no created_at: rejected
    code, output = _run(landing, warehouse, capsys, monkeypatch)

    assert code == 1  # the rejected file is the run's one problem
    assert "leads.csv, line 1: missing required column(s) created_at" in output
    assert output.count("no leads scored") == 1
    assert f"WARN check marts/lead_scores:leads_scored failed (1 failing): no leads scored as of {AS_OF}: " in output
    assert "marts.lead_scores is empty" not in output and "step marts__lead_predictions failed" not in output
    assert "expect_column_mean_to_be_between" not in output  # the empty marts are that one finding, not three
    with duckdb.connect(str(published_folder(warehouse) / "leadops.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.lead_scores").fetchone() == (0,)


def test_leads_without_activity_or_any_fit_attribute_warn_that_the_rules_cannot_rank_them(
    tmp_path, capsys, monkeypatch
):
    """X Education: 9,240 leads, no events, none of the attributes the fit rules read; all scored 0."""
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    rows = "".join(f"X{i},lead{i}@acme.io,2026-05-0{1 + i % 9}\n" for i in range(30))
    _leads(landing, "lead_id,email,created_at\n" + rows)
    code, output = _run(landing, warehouse, capsys, monkeypatch)

    assert code == 0
    assert (
        "WARN check marts/lead_scores:rules_rank_the_leads failed (30 failing): all 30 leads score 0 (segment cold): "
        "the rules cannot rank these leads, because there are no events (raw.activity is empty), so no engagement "
        "rule can add points; no fit attribute is present: the fit rules use annual_revenue, country, department, "
        "employees, industry, seniority, and no lead has a value for any of them"
    ) in output
    assert output.count("cannot rank") == 1
