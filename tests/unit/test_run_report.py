"""The summary `leadops run` prints: segments from the highest scores down, in the same order every time."""

from datetime import date

import duckdb

from leadops.summary import print_summary


def test_segments_that_reach_the_same_lowest_score_are_printed_in_name_order(tmp_path, capsys):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.lead_scores as select * from (values "
            "('L1', 'Acme', 90.0, 'A1', 'sql', false), ('L2', 'Beta', 0.0, 'D4', 'disqualified', true), "
            "('L3', 'Coda', 0.0, 'D4', 'cold', false), ('L4', 'Dune', 12.0, 'C4', 'cold', false)) "
            "as t(lead_id, company_name, score, score_label, segment, is_disqualified)"
        )

    print_summary(warehouse, date(2026, 6, 30), warehouse.parent / "published")

    printed = [line.split()[0] for line in capsys.readouterr().out.splitlines() if "avg score" in line]
    assert printed == ["sql", "cold", "disqualified"]
