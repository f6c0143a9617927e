import duckdb
import pytest


@pytest.fixture
def con(tmp_path):
    """A DuckDB file of its own for one test."""
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()
