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


def render(records: dict[str, dict]) -> str:
    """The markdown table of the given records, one row per scale (small, large, xlarge order)."""
    lines = [
        "| scale | full refresh | a night | peak RSS | one-pass reference | pandas peer "
        "| preview: threshold / rule | targets met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
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
    ratios = [r for r in record.get("ratios", []) if r.get("met") is not None]
    met = f"{sum(1 for r in ratios if r['met'])} of {len(ratios)}" if ratios else ""
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
