"""leadops, the nightly case: `leadops run` on a warehouse already built up to the day before.

The harness builds that warehouse first (untimed), lands the held-back last day of events, then
runs this. The command is the same `leadops run` as leadops_full: whatever leadops does to make
the nightly cheap (loading only the new file, incremental models) is what this measures.
"""

from __future__ import annotations

import sys

from bench.contenders.leadops_full import main

if __name__ == "__main__":
    sys.exit(main(require_warehouse=True))
