"""A run that cannot be trusted says why and exits non-zero; good files still load."""

import duckdb
import pytest

from cli.main import main

pytestmark = pytest.mark.integration


def test_a_malformed_configuration_fails_before_any_work(tmp_path, capsys):
    config = tmp_path / "scoring.yml"
    config.write_text("version: 1\nfit: [{name: x, attribute: shoe_size, equals_any: [42], points: 1}]\n")
    (tmp_path / "landing").mkdir()
    code = main(
        [
            "run",
            "--landing",
            str(tmp_path / "landing"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--config",
            str(config),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "fit[0] (x).attribute" in err
    assert not (tmp_path / "w.duckdb").exists()


def test_a_rejected_file_is_named_and_fails_the_run_but_the_rest_is_scored(tmp_path, monkeypatch, capsys):
    landing = tmp_path / "landing"
    for source in ("accounts", "leads", "activity", "conversions"):
        (landing / source).mkdir(parents=True)
    (landing / "leads" / "good.csv").write_text("lead_id,email,created_at\nL1,a@acme.com,2026-01-01\n")
    (landing / "leads" / "broken.csv").write_text("lead_id,mail\nL2,b@acme.com\n")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    warehouse = tmp_path / "w.duckdb"

    code = main(["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", "2026-02-01"])

    assert code == 1
    err = capsys.readouterr().err
    assert "broken.csv, line 1: missing required column(s) email, created_at" in err
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select lead_id, segment from marts.segment_members where list_type = 'lifecycle'"
        ).fetchall() == [("L1", "cold")]
