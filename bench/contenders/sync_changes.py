"""The CRM sync's change detection on leadops_full's warehouse: what a night costs before any CRM
call. Untimed, it plays a first sync (every lead accepted) and then a night on which 2% of the
leads' values changed; timed, it works out that night's changes as `leadops sync` does.

`--out` is leadops_full's warehouse, whose ops.sync_state it fills; the scores are read from the
published copy beside it, as `leadops sync` reads them.
"""

from __future__ import annotations

import math
import sys
import time

import duckdb

from bench.contenders._common import parser, report
from leadops.sync.changes import CHANGES, plan_changes
from leadops.sync.run import published_scores
from leadops.sync.settings import load_sync_config

CHANGED_SHARE = 50  # one lead in 50 (2%) changes overnight
HUBSPOT_BATCH = 100


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__).parse_args(argv)
    config = load_sync_config()
    copy = args.out.parent / "published" / "leadops.duckdb"
    with duckdb.connect(str(args.out)) as con, published_scores(con, copy) as published:
        con.execute("set memory_limit = '2GB'")  # the connections' default (LEADOPS_DUCKDB_MEMORY_LIMIT)
        con.execute("drop table if exists ops.sync_state")
        started = time.perf_counter()
        first = plan_changes(con, "hubspot", config, ids_of=None, catalog=published)
        first_s = time.perf_counter() - started
        con.execute(
            f"insert into ops.sync_state select 'hubspot', lead_id, 'hs-' || lead_id, object_type, values_hash, "
            f"field_values, now()::timestamp, null, null, 0 from {CHANGES}"
        )
        con.execute(f"update ops.sync_state set accepted_hash = 'stale' where hash(lead_id) % {CHANGED_SHARE} = 0")
        started = time.perf_counter()
        night = plan_changes(con, "hubspot", config, ids_of=None, catalog=published)
        night_s = time.perf_counter() - started
    report(
        core_s=round(night_s, 3),
        first_sync_s=round(first_s, 3),
        leads=first.considered,
        changed=night.changed,
        hubspot_batch_calls=math.ceil(night.changed / HUBSPOT_BATCH),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
