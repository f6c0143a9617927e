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


def test_every_target_names_its_scale_and_the_memory_beyond_the_peer_has_its_own():
    rows = _by_name(report.ratios({"leadops_full": _ok(540.0, 535.0, rss=6.2)}, None))
    large, xlarge = rows["peak RSS of leadops (GiB)"], rows["peak RSS of leadops (GiB), xlarge"]
    assert (large["target"], large["scale"], large["met"]) == ("<= 4.0 (large)", "large", False)
    assert (xlarge["target"], xlarge["scale"], xlarge["met"]) == ("<= 8.0 (xlarge)", "xlarge", True)
    assert all(row["scale"] in ("small", "large", "xlarge") for row in rows.values())


def test_the_small_preview_target_is_the_slower_of_the_two_changes():
    contenders = {"preview_threshold": _ok(0.8), "preview_engagement": _ok(3.4)}
    row = _by_name(report.ratios(contenders, None))["leadops preview of either change, the whole command (s)"]
    assert (row["value"], row["target"], row["met"]) == (3.4, "<= 3.0 (small)", False)


def _record(scale: str, contenders: dict, gap: dict | None = None) -> dict:
    return {
        "scale": {"name": scale},
        "data": {"leads": 3_000_000, "events": 150_000_000, "held_back_events": 4_600_000},
        "machine": {"cpus": 2, "cpu_model": "x", "memory_gib": 23.5, "python": "3.11"},
        "measured_at": "2026-12-03 19:00 UTC",
        "revision": "abc1234",
        "seed": 7,
        "as_of": "2026-11-23",
        "contenders": contenders,
        "rows_out": {},
        "reference": "leadops_full",
        "mismatches": {},
        "ratios": report.ratios(contenders, None),
        "imports": None,
        "untimed_preparation": {},
        "one_pass_gap": gap,
        "limits": {"rss_cap_gib": 20.0, "timeout_minutes": 120.0},
    }


def test_the_markdown_says_where_the_peer_was_stopped_and_which_targets_apply(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    contenders = {
        "leadops_full": _ok(537.4, 535.8, rss=3.84),
        "pandas_peer": {"outcome": "rss_cap_exceeded", "wall_s": 71.2, "peak_rss_gib": 20.03, "reported": {}},
    }
    text = report.markdown(_record("xlarge", contenders))
    assert "| pandas_peer | stopped at the 20 GiB ceiling after 71 s |" in text
    assert "| pandas_peer / leadops_full |  | >= 2.0 (large) | (met) (pandas stopped at the memory ceiling) |" in text
    assert "| peak RSS of leadops (GiB), xlarge | 3.84 | <= 8.0 (xlarge) | met |" in text
    assert "| peak RSS of leadops (GiB) | 3.84 | <= 4.0 (large) | (met) |" in text


def test_the_markdown_says_how_close_the_one_pass_reference_is(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    gap = {
        "leads": 10_000,
        "only_on_one_side": 0,
        "differ": 8_650,
        "largest_gap": 70.0,
        "parts_differ": 900,
        "parts_largest_gap": 50.0,
        "parts_differ_after_an_escape": 900,
    }
    contenders = {"leadops_full": _ok(30.0, 28.0), "duckdb_one_pass": _ok(0.6, 0.22)}
    text = report.markdown(_record("small", contenders, gap))
    assert "8,650 of 10,000 leads' scores differ, by at most 70.00 points" in text
    assert "the parts it computes, 900 differ, by at most 50.00 points; 900 of them are leads an escape reset" in text
    assert "leaves out negative signals" in text
    assert "| leadops_full / duckdb_one_pass | 136.36 | <= 12.0 (large) | (missed) | leadops_full <= 2.6 s |" in text
