import duckdb
import pytest

from leadops.exports import neutralised


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
    ],
)
def test_text_a_spreadsheet_would_execute_is_neutralised(text, safe):
    assert duckdb.execute(f"select {neutralised('value')} from (select ? as value)", [text]).fetchone() == (safe,)


def test_null_stays_null():
    assert duckdb.execute(f"select {neutralised('cast(null as varchar)')}").fetchone() == (None,)
