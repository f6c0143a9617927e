"""A full disk is named as the cause, not hidden under the error of the cleanup after it."""

import duckdb
import pytest

from leadops.sql import transaction


def test_a_commit_that_fails_on_a_full_disk_raises_its_own_error(small_disk):
    con = duckdb.connect(str(small_disk / "w.duckdb"))
    con.execute("create table t (v varchar)")
    with pytest.raises(duckdb.Error) as raised, transaction(con):
        con.execute("insert into t select repeat(uuid()::varchar, 40) from range(200000)")
    assert "No space left on device" in str(raised.value)
    assert "cannot rollback" not in str(raised.value)
    assert con.execute("select count(*) from t").fetchone() == (0,)
    con.close()
