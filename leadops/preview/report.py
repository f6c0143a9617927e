"""What a preview says: how the segments move, how each configuration ranks the known conversions,
and the leads whose scores move most with the factors that moved them.

Both configurations are read through `Scoring.relation`, so the same SQL compares the warehouse's
own tables with an overlay, or two overlays. The tables are made once in the connection's own
in-memory catalog and then printed, written as Markdown and, with `--out`, as Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from leadops.preview.overlay import Scoring
from leadops.sql import quote_identifier, quote_literal

MOVERS = 10
PARQUET_TABLES = ("transitions", "movers", "segments")


@dataclass
class Outcome:
    """How one configuration ranks the conversions known by as_of."""

    converters: int
    qualified_label: str  # e.g. "mql or sql": its two highest segments
    converters_qualified: int
    auc: float | None


@dataclass
class Preview:
    baseline: str
    candidate: str
    as_of: date
    leads: int
    segments: list[str]
    transitions: dict[tuple[str, str], int]
    segment_rows: list[tuple]
    outcomes: tuple[Outcome, Outcome]
    movers: list[tuple]
    mover_factors: dict[str, list[tuple]]
    rebuilt: tuple[int, int]
    changed_config: tuple[str, ...]
    seconds: float = 0.0


def make_preview(
    con: duckdb.DuckDBPyConnection, baseline: Scoring, candidate: Scoring, as_of: date, names: tuple[str, str]
) -> Preview:
    """Compute every part of the preview into tables of the connection's `memory` catalog."""
    won = (
        f"select distinct lead_id from {quote_identifier(candidate.warehouse)}.staging.stg_raw__conversions "
        f"where is_won and cast(occurred_at as date) <= cast({quote_literal(as_of.isoformat())} as date)"
    )
    before, after = baseline.relation("marts", "lead_scores"), candidate.relation("marts", "lead_scores")
    con.execute(f"create or replace temp table won as {won}")
    con.execute(
        "create or replace temp table transitions as "
        "select b.segment as from_segment, c.segment as to_segment, count(*) as leads "
        f"from {before} as b full join {after} as c using (lead_id) group by all"
    )
    con.execute(
        "create or replace temp table segments as "
        "with b as (select segment, count(*) as leads, count(won.lead_id) as won "
        f"  from {before} left join won using (lead_id) group by segment), "
        "c as (select segment, count(*) as leads, count(won.lead_id) as won "
        f"  from {after} left join won using (lead_id) group by segment) "
        "select segment, coalesce(b.leads, 0) as baseline_leads, coalesce(b.won, 0) as baseline_won, "
        "b.won / nullif(b.leads, 0) as baseline_win_rate, coalesce(c.leads, 0) as candidate_leads, "
        "coalesce(c.won, 0) as candidate_won, c.won / nullif(c.leads, 0) as candidate_win_rate "
        "from b full join c using (segment)"
    )
    segments = _segment_order(con, baseline, candidate)
    con.execute(
        "create or replace temp table moved as "
        "select b.lead_id, b.score as score_before, c.score as score_after, c.score - b.score as score_change, "
        "b.segment as segment_before, c.segment as segment_after "
        f"from {before} as b join {after} as c using (lead_id) where c.score <> b.score "
        f"order by abs(c.score - b.score) desc, b.lead_id limit {MOVERS}"
    )
    factors_before = baseline.relation("marts", "lead_score_factors")
    factors_after = candidate.relation("marts", "lead_score_factors")
    con.execute(
        "create or replace temp table moved_factors as "
        "with b as (select * from " + factors_before + " where lead_id in (select lead_id from moved)), "
        "c as (select * from " + factors_after + " where lead_id in (select lead_id from moved)) "
        "select lead_id, factor_group, factor, b.points as points_before, c.points as points_after "
        "from b full join c using (lead_id, factor_group, factor) "
        "where b.points is distinct from c.points"
    )
    con.execute(
        "create or replace temp table movers as "
        "select row_number() over (order by abs(score_change) desc, lead_id) as rank, moved.*, "
        "f.factor_group, f.factor, f.points_before, f.points_after "
        "from moved left join moved_factors as f using (lead_id) "
        "order by rank, abs(coalesce(f.points_after, 0) - coalesce(f.points_before, 0)) desc, f.factor"
    )
    movers = con.execute(
        "select lead_id, score_before, score_after, score_change, segment_before, segment_after "
        "from moved order by abs(score_change) desc, lead_id"
    ).fetchall()
    mover_factors: dict[str, list[tuple]] = {}
    for lead_id, group, factor, points_before, points_after in con.execute(
        "select lead_id, factor_group, factor, points_before, points_after from moved_factors "
        "order by abs(coalesce(points_after, 0) - coalesce(points_before, 0)) desc, factor"
    ).fetchall():
        mover_factors.setdefault(lead_id, []).append((group, factor, points_before, points_after))
    (leads,) = con.execute(f"select count(*) from {after}").fetchone()
    return Preview(
        baseline=names[0],
        candidate=names[1],
        as_of=as_of,
        leads=leads,
        segments=segments,
        transitions={(f, t): n for f, t, n in con.execute("select * from transitions").fetchall()},
        segment_rows=sorted(con.execute("select * from segments").fetchall(), key=lambda row: segments.index(row[0])),
        outcomes=(_outcome(con, baseline), _outcome(con, candidate)),
        movers=movers,
        mover_factors=mover_factors,
        rebuilt=(len(baseline.rebuilt), len(candidate.rebuilt)),
        changed_config=candidate.changed_config,
    )


def _segment_order(con, baseline: Scoring, candidate: Scoring) -> list[str]:
    """The segments as the bands rank them, highest first, then disqualified and any other."""
    order: list[str] = []
    for scoring in (baseline, candidate):
        bands = scoring.relation("config", "bands")
        order += [
            label
            for (label,) in con.execute(
                f"select label from {bands} where band_type = 'segment' order by band_rank"
            ).fetchall()
            if label not in order
        ]
    present = {s for (s,) in con.execute("select segment from segments").fetchall()}
    return order + sorted(s for s in present if s not in order)


def _outcome(con, scoring: Scoring) -> Outcome:
    """Converters reaching the two highest segments, and the ROC AUC (Mann-Whitney, tied scores at
    their average rank: all scores tied give 0.5), as orchestration/scoring.py reports them."""
    scores, bands = scoring.relation("marts", "lead_scores"), scoring.relation("config", "bands")
    qualified = [
        label
        for (label,) in con.execute(
            f"select label from {bands} where band_type = 'segment' and band_rank <= 2 order by band_rank desc"
        ).fetchall()
    ]
    converters, reached, auc = con.execute(
        f"""
        with outcomes as (
            select scores.score, scores.segment, won.lead_id is not null as is_won
            from {scores} as scores left join won using (lead_id)
        ),
        ranked as (select is_won, score, row_number() over (order by score) as position from outcomes),
        tied as (select is_won, avg(position) over (partition by score) as score_rank from ranked)
        select
            (select count(*) from outcomes where is_won),
            (select count(*) from outcomes where is_won and list_contains(?, segment)),
            (select (sum(score_rank) filter (where is_won) - count_if(is_won) * (count_if(is_won) + 1) / 2.0)
                / nullif(count_if(is_won) * count_if(not is_won), 0) from tied)
        """,
        [qualified],
    ).fetchone()
    return Outcome(converters, " or ".join(qualified), reached, auc)


def render(preview: Preview) -> str:
    """The preview as Markdown: what is printed and what `--out` writes as preview.md."""
    b, c = preview.baseline, preview.candidate
    lines = [
        f"# Preview: {c} against {b}",
        "",
        f"{preview.leads} leads rescored as of {preview.as_of}; configuration tables that differ from the "
        f"warehouse's: {', '.join(preview.changed_config) or 'none'}; models rebuilt: {preview.rebuilt[1]}"
        + (f" (baseline {preview.rebuilt[0]})" if preview.rebuilt[0] else "")
        + (f"; {preview.seconds:.2f} s" if preview.seconds else ""),
        "",
        "## Segment transitions",
        "",
        f"Leads per segment under {b} (rows) and under {c} (columns).",
        "",
    ]
    segments = preview.segments
    lines.append("| from \\ to | " + " | ".join(segments) + " | total |")
    lines.append("|---" * (len(segments) + 2) + "|")
    for origin in segments:
        row = [preview.transitions.get((origin, target), 0) for target in segments]
        lines.append(f"| {origin} | " + " | ".join(str(n) for n in row) + f" | {sum(row)} |")
    totals = [sum(preview.transitions.get((o, t), 0) for o in segments) for t in segments]
    lines.append("| total | " + " | ".join(str(n) for n in totals) + f" | {sum(totals)} |")
    lines += ["", "## Segments and known conversions", ""]
    lines.append(f"| segment | leads ({b}) | won | win rate | leads ({c}) | won | win rate |")
    lines.append("|---|---|---|---|---|---|---|")
    for segment, bl, bw, br, cl, cw, cr in preview.segment_rows:
        lines.append(f"| {segment} | {bl} | {bw} | {_rate(br)} | {cl} | {cw} | {_rate(cr)} |")
    lines += ["", "## Past converters and ranking", ""]
    lines.append("| configuration | converters reaching the two highest segments | ROC AUC of the score |")
    lines.append("|---|---|---|")
    for name, outcome in zip((b, c), preview.outcomes, strict=True):
        auc = f"{outcome.auc:.3f}" if outcome.auc is not None else "n/a (no closed-won deals, or all won)"
        reached = f"{outcome.converters_qualified} of {outcome.converters} ({outcome.qualified_label})"
        lines.append(f"| {name} | {reached} | {auc} |")
    lines += ["", f"## The {MOVERS} leads whose scores move most", ""]
    if not preview.movers:
        lines.append("No lead's score moves.")
    for lead_id, before, after, change, seg_before, seg_after in preview.movers:
        moved_segment = f"{seg_before} -> {seg_after}" if seg_before != seg_after else seg_after
        lines.append(f"- **{lead_id}** {before} -> {after} ({change:+}), {moved_segment}")
        for group, factor, p_before, p_after in preview.mover_factors.get(lead_id, []):
            lines.append(f"  - {group} {factor}: {_points(p_before)} -> {_points(p_after)}")
    return "\n".join(lines) + "\n"


def write_out(con: duckdb.DuckDBPyConnection, preview: Preview, out: Path) -> list[Path]:
    """preview.md and the Parquet files of the transitions, movers and segments in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "preview.md"]
    written[0].write_text(render(preview), encoding="utf-8")
    for table in PARQUET_TABLES:
        path = out / f"{table}.parquet"
        con.execute(f"copy (select * from {table}) to {quote_literal(str(path))} (format parquet)")
        written.append(path)
    return written


def _rate(rate) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def _points(points) -> str:
    return "-" if points is None else str(points)
