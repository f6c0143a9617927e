"""The benchmark report's ratios against issue 23's targets, also when only some contenders ran."""

from bench import report


def _ok(wall_s: float, core_s: float | None = None, rss: float = 1.0) -> dict:
    return {"outcome": "ok", "wall_s": wall_s, "peak_rss_gib": rss, "reported": {"core_s": core_s}}


def _by_name(rows: list[dict]) -> dict:
    return {row["ratio"]: row for row in rows}


def test_ratios_divide_by_the_one_pass_reference():
    contenders = {
        "leadops_full": _ok(60.0, 50.0),
        "duckdb_one_pass": _ok(7.0, 5.0),
        "duckdb_floor": _ok(30.0, 25.0),
        "leadops_incremental": _ok(10.0, 8.0),
    }
    rows = _by_name(report.ratios(contenders, {"ratio": 1.1}))
    assert rows["duckdb_floor / duckdb_one_pass"]["value"] == 5.0
    assert rows["duckdb_floor / duckdb_one_pass"]["met"] is False
    assert rows["leadops_full / duckdb_one_pass"]["value"] == 12.0
    assert rows["leadops_full / duckdb_one_pass"]["met"] is True
    assert rows["leadops_incremental / leadops_full"]["target"] == "<= 0.3 (large)"
    nightly = rows["leadops_incremental, the whole night (s)"]
    assert (nightly["value"], nightly["target"], nightly["met"]) == (10.0, "<= 12.0 (small)", True)
    assert "leadops_full / duckdb_floor" not in rows


def test_a_contender_that_did_not_run_gives_no_ratio():
    rows = _by_name(report.ratios({"leadops_full": _ok(60.0, 50.0)}, None))
    assert rows["leadops_full / duckdb_one_pass"]["value"] is None
    assert rows["leadops_full / duckdb_one_pass"]["met"] is None
    assert rows["pandas_peer / leadops_full"]["met"] is None


def test_pandas_stopped_at_the_memory_ceiling_counts_as_met():
    contenders = {
        "leadops_full": _ok(60.0, 50.0),
        "pandas_peer": {"outcome": "rss_cap_exceeded", "wall_s": 30.0, "peak_rss_gib": 20.0},
    }
    assert _by_name(report.ratios(contenders, None))["pandas_peer / leadops_full"]["met"] is True
