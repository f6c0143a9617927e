"""Imports run one way: the domain (leadops/) knows nothing of Dagster, the Dagster code
(orchestration/) assembles it, and the command line (cli/) sits on top of both."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What each layer must not import: the layers above it and, for the domain, Dagster itself.
FORBIDDEN = {
    "leadops": ("orchestration", "cli", "dagster", "dagster_dbt", "dagster_duckdb"),
    "orchestration": ("cli",),
}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    found = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / layer).rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in FORBIDDEN[layer]
    }
    assert not found, sorted(found)


def test_no_python_file_is_longer_than_an_afternoons_read():
    long = {
        f"{path.relative_to(ROOT)}: {lines} lines"
        for folder in ("leadops", "orchestration", "cli", "bench", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert not long, sorted(long)


def test_no_dbt_model_is_longer_than_200_lines():
    long = {
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in (ROOT / "dbt_project" / "models").rglob("*.sql")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 200
    }
    assert not long, sorted(long)
