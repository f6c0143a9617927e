"""The segment exports switch from one version to the next whole: a process killed while writing them
(here by the kernel, for a file past its size limit) leaves the previous version, not files of two."""

import resource
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from leadops.exports import export_all_segments

# Python ignores SIGXFSZ; the default action is the kernel killing the process at the write.
EXPORT = (
    "import resource, signal, sys; from pathlib import Path; from leadops.exports import export_all_segments\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))\n"
    "export_all_segments(Path(sys.argv[1]), Path(sys.argv[2]))"
)


def published_copy(path: Path, as_of: str, big_segment_leads: int) -> Path:
    """A published copy with a small segment written first and a big one written last."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.lead_scores as select 'L' || i as lead_id, 'l' || i || '@x.co' as email, "
            "'Ann' as first_name, 'Lee' as last_name, 'Acme' as company_name, "
            "case when i = 0 then 90 else 10 end::decimal(5, 2) as score, 'A1' as score_label, "
            f"case when i = 0 then 'a_small' else 'z_big' end as segment, '{as_of}'::date as as_of_date "
            f"from range({big_segment_leads + 1}) as r(i)"
        )
        con.execute(
            "create table marts.segment_members as select lead_id, segment, 'lifecycle' as list_type, score "
            "from marts.lead_scores"
        )
        con.execute(
            "create table marts.lead_score_factors as select lead_id, 'fit' as factor, score as points "
            "from marts.lead_scores"
        )
    return path


def as_of_dates(folder: Path) -> set[str]:
    return {
        duckdb.execute(f"select distinct as_of_date::varchar from read_csv('{csv}')").fetchone()[0]
        for csv in folder.glob("*.csv")
    }


def test_a_crash_while_exporting_leaves_the_previous_version_whole(tmp_path):
    exports = tmp_path / "exports"
    export_all_segments(published_copy(tmp_path / "v1.duckdb", "2026-06-29", 10), exports)
    big = published_copy(tmp_path / "v2.duckdb", "2026-06-30", 200_000)

    crashed = subprocess.run([sys.executable, "-c", EXPORT, str(big), str(exports), str(1 << 20)])

    assert crashed.returncode == -signal.SIGXFSZ  # killed while writing z_big.csv, after a_small's files
    assert sorted(path.name for path in exports.iterdir()) == [
        "a_small.csv",
        "a_small.parquet",
        "z_big.csv",
        "z_big.parquet",
    ]
    assert as_of_dates(exports) == {"2026-06-29"}

    written = export_all_segments(big, exports)
    assert written["z_big.csv"] == 200_000 and as_of_dates(exports) == {"2026-06-30"}
    versions = exports.parent / ".exports"
    assert not [path for path in versions.iterdir() if path.name.endswith(".partial")]  # the crash's folder
    assert len(list(versions.iterdir())) == 2  # this version and the one before, for its readers
    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == resource.RLIM_INFINITY  # only the child was limited
