"""What every contender shares: its command line and how it reports its own timings to the harness."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from bench.measure import RESULT_PREFIX

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "scoring.yml"


# Fit rules read these columns of the enriched leads (`country` is the country code): the one map
# every contender that evaluates fit rules itself reads.
TEXT_ATTRIBUTES = {
    "industry": "industry",
    "country": "country_code",
    "seniority": "seniority",
    "department": "department",
    "job_title": "job_title",
    "lead_source": "lead_source",
    "email_domain": "email_domain",
}
NUMERIC_ATTRIBUTES = ("employees", "annual_revenue")


def quoted(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def csv_files(folder: Path) -> str:
    """DuckDB reading every CSV of a landing folder as text, as the files have it."""
    return f"read_csv({quoted(str(folder / '*.csv'))}, header = true, all_varchar = true)"


def parser(description: str) -> argparse.ArgumentParser:
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--landing", type=Path, required=True, help="landing folder (leads/, accounts/, activity/...)")
    result.add_argument("--as-of", type=date.fromisoformat, required=True, help="score as of this date")
    result.add_argument(
        "--out",
        type=Path,
        required=True,
        help="where the final tables go: a DuckDB file (marts.*) or a folder of Parquet files",
    )
    result.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="scoring configuration")
    return result


def report(**figures) -> None:
    """The contender's own figures (e.g. the seconds of the part it times), as the last line of output."""
    print(RESULT_PREFIX + json.dumps(figures, default=str), flush=True)
