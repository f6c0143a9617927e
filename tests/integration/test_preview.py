"""`leadops preview`: a candidate configuration rescored from the warehouse, read-only, with the
pipeline's own compiled models; the warehouse is left as it was."""

import hashlib
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from cli.preview import DBT_PROJECT_DIR
from leadops.config import load_config
from leadops.demo_data import generate
from leadops.preview.compiled import compiled_project
from leadops.preview.overlay import build_overlay, open_warehouse, warehouse_as_of

pytestmark = pytest.mark.integration

SHIPPED = Path(__file__).resolve().parents[2] / "scoring.yml"
MQL = "{label: mql, min_points: 65}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A warehouse of 400 leads as of 2026-06-30, and a compile cache of this module's own."""
    root = tmp_path_factory.mktemp("preview")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DAGSTER_HOME", raising=False)
        patch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        landing, warehouse = root / "landing", root / "warehouse.duckdb"
        generate(landing, leads=400, seed=23, end_date=date(2026, 6, 30))
        run = ["run", "--landing", str(landing), "--warehouse", str(warehouse), "--as-of", "2026-06-30", "--quiet"]
        assert main(run) == 0
        yield root, warehouse


def _candidate(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _fingerprint(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under the warehouse's folder but the compile cache: mtime, size, content hash."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "cache" not in p.relative_to(folder).parts
    }


def test_raising_the_mql_threshold_moves_leads_only_down_from_mql_and_writes_nothing(built, tmp_path, capsys):
    root, warehouse = built
    assert MQL in SHIPPED.read_text()
    candidate = _candidate(tmp_path, "mql75.yml", SHIPPED.read_text().replace(MQL, "{label: mql, min_points: 75}"))
    before = _fingerprint(root)
    out = tmp_path / "out"

    started = time.perf_counter()
    assert main(["preview", "--config", str(candidate), "--warehouse", str(warehouse), "--out", str(out)]) == 0
    seconds = time.perf_counter() - started
    printed = capsys.readouterr().out

    assert _fingerprint(root) == before  # the warehouse, its lock, the published copy: untouched
    assert sorted(p.name for p in out.iterdir()) == [
        "movers.parquet",
        "preview.md",
        "segments.parquet",
        "transitions.parquet",
    ]
    assert printed.startswith((out / "preview.md").read_text())
    with duckdb.connect() as con:
        transitions = con.execute(f"select * from '{out / 'transitions.parquet'}'").fetchall()
        segments = {row[0]: row for row in con.execute(f"select * from '{out / 'segments.parquet'}'").fetchall()}
        movers = con.execute(f"select count(*) from '{out / 'movers.parquet'}'").fetchone()[0]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (leads,) = con.execute("select count(*) from marts.lead_scores").fetchone()
        # Independently: the warehouse's scores with the new threshold applied by hand.
        (mql_by_hand,) = con.execute(
            "select count(*) from marts.lead_scores where segment <> 'disqualified' and score >= 75 and score < 85"
        ).fetchone()
        (mql_before,) = con.execute("select count(*) from marts.lead_scores where segment = 'mql'").fetchone()
    assert sum(n for _, _, n in transitions) == leads
    moved = {(f, t): n for f, t, n in transitions if f != t}
    assert moved and set(moved) <= {("mql", "warm"), ("mql", "cold")}, moved
    assert segments["mql"][1] == mql_before  # baseline_leads
    assert segments["mql"][4] == mql_by_hand < mql_before  # candidate_leads
    assert movers == 0  # a threshold moves segments, not scores
    assert "No lead's score moves." in printed
    print(f"threshold preview: {seconds:.2f} s (compile included on a cold cache)")


def test_a_candidate_equal_to_the_baseline_moves_nothing(built, tmp_path, capsys):
    _, warehouse = built
    same = _candidate(tmp_path, "same.yml", SHIPPED.read_text())
    out = tmp_path / "out"
    assert main(["preview", "--config", str(same), "--warehouse", str(warehouse), "--out", str(out)]) == 0
    assert "No lead's score moves." in capsys.readouterr().out
    with duckdb.connect() as con:
        off_diagonal = con.execute(
            f"select count(*) from '{out / 'transitions.parquet'}' where from_segment is distinct from to_segment"
        ).fetchone()[0]
        movers = con.execute(f"select count(*) from '{out / 'movers.parquet'}'").fetchone()[0]
    assert (off_diagonal, movers) == (0, 0)


def test_an_engagement_rule_moves_scores_by_the_factors_that_changed(built, tmp_path, capsys):
    _, warehouse = built
    rule = "{name: webinar_attendance, event_type: webinar_attendance, points: 10,"
    assert rule in SHIPPED.read_text()
    more = SHIPPED.read_text().replace(rule, rule.replace("points: 10,", "points: 15,"))
    candidate = _candidate(tmp_path, "webinar15.yml", more)
    against = _candidate(tmp_path, "shipped.yml", SHIPPED.read_text())
    out = tmp_path / "out"
    args = ["preview", "--config", str(candidate), "--against", str(against), "--warehouse", str(warehouse)]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    with duckdb.connect() as con:
        rows = con.execute(
            f"select lead_id, score_change, factor from '{out / 'movers.parquet'}' order by rank"
        ).fetchall()
        # Each mover's change is the sum of the changes of the factors listed for it.
        unexplained = con.execute(
            "select lead_id from ("
            "  select lead_id, any_value(score_change) as change,"
            "  sum(coalesce(points_after, 0) - coalesce(points_before, 0)) as moved"
            f"  from '{out / 'movers.parquet'}' group by lead_id) where change <> moved"
        ).fetchall()
    assert len({lead for lead, _, _ in rows}) == 10 and all(change > 0 for _, change, _ in rows)
    assert "webinar_attendance" in {factor for _, _, factor in rows}
    assert unexplained == []


def test_the_overlay_rebuilt_in_full_equals_the_warehouse(built):
    """Every model the scores need, rebuilt from its compiled SQL under the configuration the run
    used, gives the warehouse's own tables row for row: the overlay is the pipeline's SQL."""
    root, warehouse = built
    cache = root / "cache" / "leadops" / "preview"  # the CLI's, under this module's XDG_CACHE_HOME
    project = compiled_project(DBT_PROJECT_DIR, DBT_PROJECT_DIR / "target" / "manifest.json", cache)
    con, alias = open_warehouse(warehouse)
    with con:
        scoring = build_overlay(con, project, load_config(SHIPPED), warehouse_as_of(con, alias), alias, "all", True)
        assert ("intermediate", "int_engagement_rules_accumulated") in scoring.rebuilt
        for table in ("lead_scores", "lead_score_factors", "segment_members"):
            ours, theirs = scoring.relation("marts", table), f'"{alias}".marts.{table}'
            (different,) = con.execute(
                f"select count(*) from ((select * from {ours} except all select * from {theirs}) "
                f"union all (select * from {theirs} except all select * from {ours}))"
            ).fetchone()
            assert different == 0, table


def _differing_rows(con, ours: str, theirs: str) -> int:
    (different,) = con.execute(
        f"select count(*) from ((select * from {ours} except all select * from {theirs}) "
        f"union all (select * from {theirs} except all select * from {ours}))"
    ).fetchone()
    return different


@pytest.mark.parametrize(
    ("change", "recounts_history"),
    [
        ("points: 15, half_life_days: 60", False),  # a points change re-weights the state
        ("points: 10, half_life_days: 30", True),  # a half-life change ages events anew
    ],
)
def test_an_engagement_change_rebuilds_only_what_it_moves_and_equals_a_full_rebuild(
    built, tmp_path, change, recounts_history
):
    """A change of points re-weights the accumulated engagement state, a change of half-life
    recounts the history; either way the scores equal those of every model rebuilt from scratch."""
    root, warehouse = built
    rule = "{name: webinar_attendance, event_type: webinar_attendance, points: 10, half_life_days: 60"
    assert rule in SHIPPED.read_text()
    text = SHIPPED.read_text().replace(rule, rule.replace("points: 10, half_life_days: 60", change))
    config = load_config(_candidate(tmp_path, "candidate.yml", text))
    cache = root / "cache" / "leadops" / "preview"
    project = compiled_project(DBT_PROJECT_DIR, DBT_PROJECT_DIR / "target" / "manifest.json", cache)
    con, alias = open_warehouse(warehouse)
    with con:
        as_of = warehouse_as_of(con, alias)
        quick = build_overlay(con, project, config, as_of, alias, "quick")
        full = build_overlay(con, project, config, as_of, alias, "full", rebuild_all=True)
        accumulation = ("intermediate", "int_engagement_rules_accumulated")
        assert (accumulation in quick.rebuilt) is recounts_history
        assert ("intermediate", "int_lead_activity_summarised") not in quick.rebuilt
        assert ("intermediate", "int_engagement_rules_applied") in quick.rebuilt
        for table in ("lead_scores", "lead_score_factors", "segment_members"):
            assert _differing_rows(con, quick.relation("marts", table), full.relation("marts", table)) == 0, table
        ours, theirs = quick.relation("marts", "lead_scores"), f'"{alias}".marts.lead_scores'
        assert _differing_rows(con, ours, theirs) > 0  # the candidate does move scores


def test_a_bad_candidate_fails_naming_the_entry(built, tmp_path, capsys):
    _, warehouse = built
    text = SHIPPED.read_text()
    bad = _candidate(tmp_path, "bad.yml", text.replace(MQL, "{label: mql, min_points: lots}"))
    assert main(["preview", "--config", str(bad), "--warehouse", str(warehouse)]) == 2
    error = capsys.readouterr().err
    assert "bad.yml" in error and "segments.thresholds[1].min_points: Input should be a valid number" in error


HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"


def test_a_warehouse_held_by_a_refresh_is_refused_at_once(built, tmp_path, capsys):
    _, warehouse = built
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        same = _candidate(tmp_path, "same.yml", SHIPPED.read_text())
        started = time.perf_counter()
        assert main(["preview", "--config", str(same), "--warehouse", str(warehouse)]) == 2
        assert time.perf_counter() - started < 10
    finally:
        holder.kill()
        holder.wait()
    error = capsys.readouterr().err
    assert "locked by a running refresh" in error and "published copy" in error
