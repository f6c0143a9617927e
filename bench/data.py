"""The benchmark's input files: generated once per scale and seed with `leadops demo-data`, then reused.

Besides the landing folder itself, the incremental case needs the same events split in two: every
event before the as_of date D (the warehouse is built from those as of D-1) and the events of D
(held back, landed the night after). Both are cut from the generated Parquet files with DuckDB.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

BENCH_ROOT = Path(__file__).resolve().parent
DATA_ROOT = BENCH_ROOT / "data"
# demo-data's events stop just before midnight of --end-date, so the last day of events, the as_of
# date D and the held-back day are the day before it. Fixed dates keep every run reproducible.
END_DATE = date(2026, 11, 24)
AS_OF = END_DATE - timedelta(days=1)
COMPLETE = ".complete"  # written last: a folder without it was interrupted and is generated again
SOURCES_KEPT_WHOLE = ("leads", "accounts", "conversions")


@dataclass(frozen=True)
class Scale:
    name: str
    leads: int
    events_per_lead: float

    @property
    def events(self) -> int:
        return int(self.leads * self.events_per_lead)


SCALES = {
    scale.name: scale
    for scale in (
        Scale("tiny", 2_000, 50),  # for trying the harness out; not one of the scales
        Scale("small", 10_000, 100),
        Scale("medium", 100_000, 100),
        Scale("large", 1_000_000, 50),
        # Beyond the peer: pandas_peer needs 15.5 GiB at the large scale, so here it meets the
        # harness's memory ceiling. Generated in 14 minutes (4.7 GB of files); not part of "all".
        Scale("xlarge", 3_000_000, 50),
    )
}
IN_ALL = ("small", "medium", "large")


@dataclass(frozen=True)
class Dataset:
    root: Path
    as_of: date

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def base_landing(self) -> Path:
        """The landing folder as it was the day before: everything but the events of the as_of date."""
        return self.root / "incremental" / "base"

    @property
    def held_back(self) -> Path:
        """The events of the as_of date, one Parquet file, landed on top of the base."""
        return self.root / "incremental" / "held_back" / f"events_{self.as_of.isoformat()}.parquet"


def dataset(scale: Scale, seed: int) -> Dataset:
    """The cached files of a scale and seed, generated (and split) only when missing."""
    data = Dataset(DATA_ROOT / scale.name / f"seed-{seed}", AS_OF)
    if not (data.root / COMPLETE).exists():
        shutil.rmtree(data.root, ignore_errors=True)
        _generate(scale, seed, data.landing)
        _split(data)
        (data.root / COMPLETE).write_text(f"{scale}\nseed={seed}\n", encoding="utf-8")
    return data


def _generate(scale: Scale, seed: int, landing: Path) -> None:
    leadops = Path(sys.executable).parent / "leadops"
    command = [str(leadops), "demo-data", "--leads", str(scale.leads), "--seed", str(seed)]
    command += ["--out", str(landing), "--end-date", END_DATE.isoformat()]
    command += ["--events-per-lead", str(scale.events_per_lead)]
    print(f"generating {scale.name} data: {scale.leads:,} leads, ~{scale.events:,} events", flush=True)
    subprocess.run(command, check=True)


def _split(data: Dataset) -> None:
    """Base = the small files as they are plus each activity file without the as_of date's events."""
    base = data.base_landing
    for source in SOURCES_KEPT_WHOLE:
        shutil.copytree(data.landing / source, base / source)
    (base / "activity").mkdir(parents=True)
    data.held_back.parent.mkdir(parents=True)
    day = f"date '{data.as_of.isoformat()}'"
    with duckdb.connect() as con:
        for path in sorted((data.landing / "activity").glob("*.parquet")):
            con.execute(
                f"copy (select * from read_parquet('{path}') where cast(occurred_at as date) < {day}) "
                f"to '{base / 'activity' / path.name}' (format parquet, compression zstd)"
            )
        files = str(data.landing / "activity" / "*.parquet")
        con.execute(
            f"copy (select * from read_parquet('{files}') where cast(occurred_at as date) = {day}) "
            f"to '{data.held_back}' (format parquet, compression zstd)"
        )


def event_counts(data: Dataset) -> dict[str, int]:
    with duckdb.connect() as con:
        total = con.execute(f"select count(*) from read_parquet('{data.landing / 'activity' / '*.parquet'}')")
        (events,) = total.fetchone()
        (held_back,) = con.execute(f"select count(*) from read_parquet('{data.held_back}')").fetchone()
    return {"events": events, "held_back_events": held_back}


def fresh_landing(source: Path, target: Path) -> Path:
    """A private landing folder for one contender: links to the cached files, so nothing is copied."""
    shutil.rmtree(target, ignore_errors=True)
    for path in source.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            link = target / path.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())
    return target
