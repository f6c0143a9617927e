"""The README's performance lines, rewritten from bench/results/ after every benchmark run.

The README shows a few figures per scale between two markers; they are never typed by hand, so
they cannot drift from the recorded runs. `python -m bench.readme` rewrites them from whatever
`<scale>.json` files are there; `bench.report.write` calls it after each run.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
SCALES = ("small", "large", "xlarge")
STOPPED = {"rss_cap_exceeded": "stopped at the memory ceiling", "out_of_memory": "out of memory"}
# The targets shown one by one (the others are counted): issue 23's ratios, the memory and the night.
KEY_TARGETS = (
    "duckdb_floor / duckdb_one_pass",
    "leadops_full / duckdb_one_pass",
    "pandas_peer / leadops_full",
    "leadops_incremental / leadops_full",
    "peak RSS of leadops",
    "leadops_incremental, the whole night",
)
SHORT_NAMES = {
    "duckdb_one_pass": "one-pass",
    "duckdb_floor": "floor",
    "leadops_full": "full",
    "leadops_incremental, the whole night (s)": "a night (s)",
    "leadops_incremental": "night",
    "pandas_peer": "pandas",
    "peak RSS of leadops (GiB)": "peak RSS (GiB)",
}


def render(records: dict[str, dict]) -> str:
    """The markdown table of the given records, one row per scale (small, large, xlarge order)."""
    lines = [
        "| scale | full refresh | a night | peak RSS | one-pass reference | pandas peer "
        "| preview: threshold / rule | targets set for this scale |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for scale in SCALES:
        record = records.get(scale)
        if record:
            lines.append(_row(scale, record))
    measured = sorted({r["measured_at"][:10] for r in records.values() if r.get("measured_at")})
    revisions = sorted({str(r.get("revision", "?")) for r in records.values()})
    cpus = {r.get("machine", {}).get("cpus") for r in records.values()} - {None}
    lines.append(
        f"\nMeasured with `make bench` on {', '.join(map(str, sorted(cpus))) or '?'} CPUs, "
        f"{' and '.join(measured)}, at {', '.join(revisions)}; every target and where the time goes: "
        "[bench/results/](bench/results/)."
    )
    return "\n".join(lines)


def _row(scale: str, record: dict) -> str:
    contenders = record.get("contenders", {})
    data = record.get("data", {})
    size = f"{scale}: {data.get('leads', 0):,} leads, {data.get('events', 0) / 1e6:.0f}M events"
    full = contenders.get("leadops_full", {})
    rss = f"{full['peak_rss_gib']:.1f} GiB" if full.get("peak_rss_gib") is not None else ""
    previews = " / ".join(_seconds(contenders.get(f"preview_{c}")) for c in ("threshold", "engagement"))
    met = _targets(scale, record.get("ratios", []))
    cells = [
        size,
        _seconds(full),
        _seconds(contenders.get("leadops_incremental")),
        rss,
        _seconds(contenders.get("duckdb_one_pass"), "core_s"),
        _pandas(contenders.get("pandas_peer")),
        previews if previews.strip(" /") else "",
        met,
    ]
    return "| " + " | ".join(cells) + " |"


def _targets(scale: str, ratios: list[dict]) -> str:
    """The key targets set for this scale with their values and verdicts, then how many of all its
    targets were met. Rows recorded before targets named their scale were all for the large one."""
    judged = [r for r in ratios if r.get("scale", "large") == scale and r.get("met") is not None]
    if not judged:
        return ""
    parts = []
    for row in judged:
        if not row["ratio"].startswith(KEY_TARGETS):
            continue
        name = row["ratio"].removesuffix(f", {scale}")
        for long, short in SHORT_NAMES.items():
            name = name.replace(long, short)
        value = f"{row['value']:.2f}" if row.get("value") is not None else row.get("note") or "n/a"
        target = row["target"].removesuffix(f" ({scale})")
        parts.append(f"{name} {value} ({target}) {'met' if row['met'] else 'missed'}")
    parts.append(f"{sum(1 for r in judged if r['met'])} of {len(judged)} met")
    return "; ".join(parts)


def _seconds(contender: dict | None, figure: str = "wall_s") -> str:
    if not contender:
        return ""
    if contender.get("outcome") != "ok":
        return STOPPED.get(contender.get("outcome"), str(contender.get("outcome")))
    value = (contender.get("reported") or {}).get(figure) if figure != "wall_s" else contender.get("wall_s")
    return f"{value:.1f} s" if value is not None else ""


def _pandas(contender: dict | None) -> str:
    if not contender:
        return ""
    if contender.get("outcome") in STOPPED:
        return f"{STOPPED[contender['outcome']]} ({contender.get('peak_rss_gib', 0):.1f} GiB)"
    return f"{_seconds(contender)}, {contender.get('peak_rss_gib', 0):.1f} GiB"


def rewrite(readme: Path = README, results: Path = RESULTS) -> bool:
    """Replace the block between the markers of `readme`; False when it has no markers."""
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return False
    records = {
        scale: json.loads((results / f"{scale}.json").read_text(encoding="utf-8"))
        for scale in SCALES
        if (results / f"{scale}.json").exists()
    }
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{render(records)}\n{END}{tail}", encoding="utf-8")
    return True


if __name__ == "__main__":
    print("README.md rewritten" if rewrite() else f"README.md has no {START} ... {END} block")
