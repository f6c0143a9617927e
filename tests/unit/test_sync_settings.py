"""The sync's field mapping: shipped defaults, validation that names the entry, and the docs' table."""

import re
from pathlib import Path

import pytest

from leadops.settings import Settings
from leadops.sync.settings import DEFAULTS, VALUES, SyncConfigError, load_sync_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scores-in-your-crm.md"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sync.yml"
    path.write_text(text)
    return path


def test_the_defaults_write_every_value_to_both_crms():
    config = load_sync_config()
    assert [value for value, _ in config.fields("hubspot")] == list(VALUES)
    assert [value for value, _ in config.fields("salesforce")] == list(VALUES)
    assert all(field.name.endswith("__c") for _, field in config.fields("salesforce"))


def test_the_docs_table_is_the_defaults():
    config = load_sync_config()
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `(\w+)` \|", DOCS.read_text(), flags=re.MULTILINE)
    hubspot = {value: field.name for value, field in config.fields("hubspot")}
    salesforce = {value: field.name for value, field in config.fields("salesforce")}
    assert {value: (h, s) for value, h, s in rows} == {v: (hubspot[v], salesforce[v]) for v in VALUES}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    score: leadops_score", "    scor: leadops_score"), "hubspot.fields.scor"),
        (("    score: leadops_score", "    score: Leadops Score"), "hubspot.fields.score"),
        (("    fit_grade: leadops_fit_grade", "    fit_grade: leadops_score"), "leadops_score named for two values"),
        (("  bulk_above: 10000", "  bulk_above: 0"), "salesforce.bulk_above"),
        (("  rating: {}", "  rating: {sql: Boiling}"), "salesforce.rating.sql"),
        (("  property_group: leadops", "  property_group: leadops\n  property_group: other"), "duplicate key"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_entry(tmp_path, change, message):
    old, new = change
    text = DEFAULTS.read_text()
    assert old in text
    with pytest.raises(SyncConfigError, match=re.escape(message)):
        load_sync_config(_config(tmp_path, text.replace(old, new, 1)))


def test_a_value_set_to_null_is_not_written(tmp_path):
    text = DEFAULTS.read_text().replace("    top_reasons: leadops_top_reasons", "    top_reasons: null", 1)
    names = [field.name for _, field in load_sync_config(_config(tmp_path, text)).fields("hubspot")]
    assert "leadops_top_reasons" not in names and "leadops_score" in names


def test_crm_secrets_never_show_in_the_settings():
    settings = Settings.load(
        {
            "LEADOPS_HUBSPOT_TOKEN": "pat-secret-1",
            "LEADOPS_SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
            "LEADOPS_SALESFORCE_CLIENT_ID": "id",
            "LEADOPS_SALESFORCE_CLIENT_SECRET": "sf-secret-2",
        }
    )
    assert settings.sync_destinations == ("hubspot", "salesforce")
    assert "secret" not in repr(settings)
    assert Settings.load({}).sync_destinations == ()
