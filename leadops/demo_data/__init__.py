"""A realistic, seeded B2B dataset that honours the input contract.

Every lead gets a hidden propensity from its fit (industry, size, seniority, department) and its
junk-ness; activity volume, mix and recency and the conversions are all drawn from it, so a good
scoring model measurably ranks converters higher. Everything is vectorised with NumPy and the
activity is written in chunks of leads, so a million leads with fifty million events fit easily
in memory. `crm` draws the accounts, leads and conversions, `activity` the events; this module
writes the files, in the same order and bytes for the same seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from leadops.demo_data.activity import draw_activity
from leadops.demo_data.crm import (
    CUSTOM_FIELDS,
    CUSTOM_FIELDS_STREAM,
    draw_accounts,
    draw_conversions,
    draw_custom_fields,
    draw_leads,
)

__all__ = [
    "CUSTOM_FIELDS",
    "LEADS_PER_CHUNK",
    "DemoSummary",
    "Progress",
    "generate",
    "is_empty",
    "planned_files",
]

LEADS_PER_CHUNK = 100_000

# Told each file as it is written: its path under the landing folder and its rows.
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class DemoSummary:
    accounts: int
    leads: int
    events: int
    conversions: int
    out: Path


def planned_files(leads: int) -> list[str]:
    """The files `generate` writes for this many leads, in the order it writes them."""
    chunks = [f"activity/events_{chunk:04d}.parquet" for chunk in range(-(-leads // LEADS_PER_CHUNK))]
    return ["accounts/accounts.csv", "leads/leads.csv", *chunks, "conversions/conversions.csv"]


def generate(
    out: Path,
    leads: int = 5000,
    seed: int = 7,
    end_date: date | None = None,
    events_per_lead: float = 50.0,
    progress: Progress | None = None,
) -> DemoSummary:
    """Write accounts/, leads/, activity/ and conversions/ under `out` and return the counts;
    `progress`, if given, is told each file once it is written (see `Progress`)."""
    if leads < 1:
        raise ValueError("--leads must be at least 1")
    told = progress or (lambda _path, _rows: None)
    end = datetime.combine(end_date or date.today(), datetime.min.time())
    rng = np.random.default_rng(seed)
    out = Path(out)
    for folder in ("accounts", "leads", "activity", "conversions"):
        (out / folder).mkdir(parents=True, exist_ok=True)

    accounts = draw_accounts(rng, max(10, leads // 5))
    lead_frame, propensity = draw_leads(rng, leads, accounts, end)
    # Activity draws from its own generators, so the conversions can be drawn before it: the
    # disposition fields sales fills after contact need them, and the main stream stays as it was.
    conversions = draw_conversions(rng, lead_frame, propensity, end)
    custom = draw_custom_fields(
        np.random.default_rng([seed, CUSTOM_FIELDS_STREAM]), lead_frame, propensity, conversions
    )
    accounts.drop(columns=["_weight"]).to_csv(out / "accounts" / "accounts.csv", index=False)
    told("accounts/accounts.csv", len(accounts))
    pd.concat([lead_frame, custom], axis=1).to_csv(out / "leads" / "leads.csv", index=False)
    told("leads/leads.csv", leads)

    events = 0
    for chunk, start in enumerate(range(0, leads, LEADS_PER_CHUNK)):
        stop = min(start + LEADS_PER_CHUNK, leads)
        chunk_rng = np.random.default_rng([seed, chunk])
        table = draw_activity(
            chunk_rng,
            lead_frame.iloc[start:stop],
            propensity[start:stop],
            end,
            events_per_lead,
            first_event_number=start * 1_000,
        )
        name = f"events_{chunk:04d}.parquet"
        pq.write_table(table, out / "activity" / name, compression="zstd")
        events += table.num_rows
        told(f"activity/{name}", table.num_rows)

    conversions.to_csv(out / "conversions" / "conversions.csv", index=False)
    told("conversions/conversions.csv", len(conversions))
    return DemoSummary(len(accounts), leads, events, len(conversions), out)


def is_empty(landing: Path) -> bool:
    return not any(p.is_file() for p in Path(landing).rglob("*")) if Path(landing).exists() else True
