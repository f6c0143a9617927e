"""`leadops preview` on leadops_full's warehouse: what RevOps waits for to see a change's effect.

`--change threshold` raises the MQL threshold by 10 points (the score tables are rebuilt from the
marts' inputs); `--change engagement` gives webinar attendance 5 more points (the engagement state
is rebuilt from the whole event log). The dbt models are compiled beforehand by the harness
(untimed, once per manifest, as the first preview after `leadops prepare` does); the timed part is
the whole command, configuration check to printed report, in this process.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.contenders._common import parser, report
from cli.main import main as leadops

CHANGES = ("threshold", "engagement")


def candidate(config: Path, change: str, folder: Path) -> Path:
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    if change == "threshold":
        (band,) = [b for b in data["segments"]["thresholds"] if b["label"] == "mql"]
        band["min_points"] += 10
    else:
        (rule,) = [r for r in data["engagement"]["rules"] if r["name"] == "webinar_attendance"]
        rule["points"] += 5
    path = folder / f"{change}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    command = parser(__doc__)
    command.add_argument("--change", choices=CHANGES, required=True)
    args = command.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="leadops-bench-preview-") as folder:
        path = candidate(args.config, args.change, Path(folder))
        printed = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(printed):
            code = leadops(["preview", "--config", str(path), "--warehouse", str(args.out)])
        seconds = time.perf_counter() - started
    if code != 0:
        return code
    first = printed.getvalue().splitlines()[2]  # "<n> leads rescored as of ...; models rebuilt: ..."
    report(core_s=round(seconds, 3), change=args.change, summary=first)
    return 0


if __name__ == "__main__":
    sys.exit(main())
