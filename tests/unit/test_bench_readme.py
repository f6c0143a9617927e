"""The README's performance block is rendered from the benchmark records, never typed by hand."""

from bench import readme


def record(**contenders) -> dict:
    return {
        "measured_at": "2026-12-03 19:00 UTC",
        "revision": "abc1234",
        "machine": {"cpus": 2},
        "data": {"leads": 3_000_000, "events": 149_988_632},
        "contenders": contenders,
        "ratios": [
            {
                "ratio": "peak RSS of leadops (GiB), xlarge",
                "value": 6.21,
                "target": "<= 8.0 (xlarge)",
                "scale": "xlarge",
                "met": True,
            },
            {
                "ratio": "peak RSS of leadops (GiB)",
                "value": 6.21,
                "target": "<= 4.0 (large)",
                "scale": "large",
                "met": False,
            },
            {
                "ratio": "pandas_peer / leadops_full",
                "value": None,
                "target": ">= 2.0 (large)",
                "scale": "large",
                "met": True,
                "note": "pandas stopped at the memory ceiling",
            },
            {
                "ratio": "leadops_full / duckdb_one_pass",
                "value": 29.68,
                "target": "<= 12.0 (large)",
                "scale": "large",
                "met": False,
            },
            {
                "ratio": "sync: a night's CRM changes (s)",
                "value": None,
                "target": "<= 3.0 (large)",
                "scale": "large",
                "met": None,
            },
        ],
    }


def test_a_row_per_scale_with_the_peer_stopped_at_the_ceiling():
    xlarge = record(
        leadops_full={"outcome": "ok", "wall_s": 512.34, "peak_rss_gib": 6.21},
        duckdb_one_pass={"outcome": "ok", "wall_s": 30.0, "reported": {"core_s": 17.26}},
        pandas_peer={"outcome": "rss_cap_exceeded", "wall_s": 80.0, "peak_rss_gib": 20.02},
    )
    text = readme.render({"xlarge": xlarge})
    row = next(line for line in text.splitlines() if line.startswith("| xlarge"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells == [
        "xlarge: 3,000,000 leads, 150M events",
        "512.3 s",
        "",
        "6.2 GiB",
        "17.3 s",
        "stopped at the memory ceiling (20.0 GiB)",
        "",
        "peak RSS (GiB) 6.21 (<= 8.0) met; 1 of 1 met",
    ]
    assert "on 2 CPUs, 2026-12-03, at abc1234" in text


def test_the_block_between_the_markers_is_replaced_and_the_rest_kept(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "small.json").write_text(
        __import__("json").dumps(record(leadops_full={"outcome": "ok", "wall_s": 26.0, "peak_rss_gib": 0.8}))
    )
    page = tmp_path / "README.md"
    page.write_text(f"# top\n{readme.START}\nold figures\n{readme.END}\n## after\n")
    assert readme.rewrite(page, results)
    text = page.read_text()
    assert text.startswith("# top\n") and text.endswith(f"{readme.END}\n## after\n")
    assert "old figures" not in text and "| small: 3,000,000 leads, 150M events | 26.0 s |" in text
    unmarked = tmp_path / "OTHER.md"
    unmarked.write_text("no block\n")
    assert not readme.rewrite(unmarked, results) and unmarked.read_text() == "no block\n"


def test_the_key_targets_of_a_scale_are_listed_with_their_verdicts():
    large = record(leadops_full={"outcome": "ok", "wall_s": 156.6, "peak_rss_gib": 2.7})
    cell = readme._targets("large", large["ratios"])
    assert cell == (
        "peak RSS (GiB) 6.21 (<= 4.0) missed; pandas / full pandas stopped at the memory ceiling (>= 2.0) met; "
        "full / one-pass 29.68 (<= 12.0) missed; 1 of 3 met"
    )
    assert readme._targets("small", large["ratios"]) == ""
