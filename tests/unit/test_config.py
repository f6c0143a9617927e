from pathlib import Path

import duckdb
import pytest
import yaml

from leadops.config import ConfigError, load_config, write_config_tables

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "scoring.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def default_data() -> dict:
    return yaml.safe_load((ROOT / "scoring.yml").read_text())


def test_the_shipped_configuration_is_valid():
    config = load_config(ROOT / "scoring.yml")
    tables = config.tables()
    assert {r["rule_name"] for r in tables["fit_rules"]} >= {"ideal_industry", "decision_maker"}
    assert [b["label"] for b in tables["bands"] if b["band_type"] == "segment"] == [
        "sql",
        "mql",
        "warm",
        "cold",
    ]


def test_a_wrong_value_names_the_entry_and_the_problem(tmp_path, default_data):
    default_data["fit"][0]["points"] = "lots"
    with pytest.raises(ConfigError) as error:
        load_config(_write(tmp_path, default_data))
    assert "fit[0] (ideal_industry).points" in str(error.value)
    assert "valid number" in str(error.value)


def test_an_unknown_attribute_is_refused(tmp_path, default_data):
    default_data["fit"][1]["attribute"] = "height; drop table raw.leads"
    with pytest.raises(ConfigError, match=r"fit\[1\] \(good_industry\).attribute"):
        load_config(_write(tmp_path, default_data))


def test_numeric_attributes_need_a_range(tmp_path, default_data):
    default_data["fit"].append({"name": "big", "attribute": "employees", "equals_any": ["1000"], "points": 5})
    with pytest.raises(ConfigError, match="between"):
        load_config(_write(tmp_path, default_data))


def test_rules_on_custom_fields_become_rows_of_the_fit_rules_table(tmp_path, default_data):
    """Any operator on a custom field, which no loaded file needs to have yet: the data may come later."""
    default_data["fit"] += [
        {"name": "add_form", "attribute": "custom.lead_origin", "equals_any": ["Lead Add Form", "API"], "points": 15},
        {"name": "sms", "attribute": "custom.last_activity", "contains_any": ["SMS"], "points": 5},
        {"name": "long_visits", "attribute": "custom.total_time_spent_on_website", "between": [600, 1e5], "points": 10},
    ]
    rows = [
        r
        for r in load_config(_write(tmp_path, default_data)).tables()["fit_rules"]
        if r["rule_name"] in ("add_form", "sms", "long_visits")
    ]
    assert [(r["attribute"], r["match_type"], r["match_value"], r["range_low"], r["range_high"]) for r in rows] == [
        ("custom.lead_origin", "equals", "lead add form", None, None),
        ("custom.lead_origin", "equals", "api", None, None),
        ("custom.last_activity", "contains", "sms", None, None),
        ("custom.total_time_spent_on_website", "between", None, 600.0, 100000.0),
    ]


@pytest.mark.parametrize(
    ("edit", "where", "problem"),
    [
        (
            {"attribute": "custom.Lead Origin"},
            "attribute",
            "'custom.Lead Origin' is not a custom field name: a custom field goes by its header normalised "
            "(lower case, each run of spaces and punctuation as _), here custom.lead_origin",
        ),
        ({"attribute": "custom."}, "attribute", "'custom.' is not a custom field name"),
        ({"attribute": "custom.lead_origin; drop table raw.leads"}, "attribute", "is not a custom field name"),
        (
            {"attribute": "custom.lead_source"},
            "attribute",
            "'custom.lead_source' is the input contract's column lead_source, never a custom field: "
            "use attribute: lead_source",
        ),
        (
            {"equals_any": None, "greater_than": 5},
            "greater_than",
            "not a key of a fit rule, whose condition is one of equals_any, contains_any or between",
        ),
        ({"equals_any": None, "between": ["short", "long"]}, "between[0]", "Input should be a valid number"),
        ({"equals_any": None, "between": [600]}, "between", "give the range as [low, high], two numbers"),
        ({"equals_any": None, "between": [900, 600]}, "", "between: low must not exceed high"),
        ({"between": [600, 900]}, "", "give exactly one of equals_any, contains_any or between"),
    ],
)
def test_a_bad_rule_on_a_custom_field_is_refused_naming_the_entry(tmp_path, default_data, edit, where, problem):
    rule = {"name": "add_form", "attribute": "custom.lead_origin", "equals_any": ["Lead Add Form"], "points": 15}
    default_data["fit"].append({k: v for k, v in (rule | edit).items() if v is not None})
    with pytest.raises(ConfigError) as error:
        load_config(_write(tmp_path, default_data))
    entry = f"fit[{len(default_data['fit']) - 1}] (add_form)"
    assert f"{entry}{'.' + where if where else ''}: " in str(error.value)
    assert problem in str(error.value)


def test_rule_names_are_unique_and_identifier_shaped(tmp_path, default_data):
    default_data["engagement"]["rules"][0]["name"] = "ideal_industry"
    with pytest.raises(ConfigError, match="unique"):
        load_config(_write(tmp_path, default_data))
    default_data["engagement"]["rules"][0]["name"] = "Opens!"
    with pytest.raises(ConfigError, match=r"engagement.rules\[0\]"):
        load_config(_write(tmp_path, default_data))


def test_bands_must_descend_and_end_with_a_catch_all(tmp_path, default_data):
    default_data["segments"]["thresholds"] = [
        {"label": "warm", "min_points": 30},
        {"label": "sql", "min_points": 80},
        {"label": "cold"},
    ]
    with pytest.raises(ConfigError, match="highest first"):
        load_config(_write(tmp_path, default_data))


def test_missing_and_unparsable_files_fail_fast(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("fit: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_values_are_stored_as_data_not_sql(tmp_path, default_data):
    hostile = "x'); drop table config.bands; --"
    default_data["fit"][0]["equals_any"] = [hostile]
    config = load_config(_write(tmp_path, default_data))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    counts = write_config_tables(con, config)
    assert counts["bands"] == 12
    stored = con.execute("select match_value from config.fit_rules where rule_name = 'ideal_industry'").fetchall()
    assert stored == [(hostile,)]
    assert con.execute("select count(*) from config.bands").fetchone()[0] == 12


@pytest.mark.parametrize(
    ("section", "edit", "entry"),
    [
        ("engagement", lambda d: d["engagement"]["rules"][0].update(event_type="email_opened"), r"rules\[0\]"),
        ("negative", lambda d: d["negative"].update(escape_event_types=["unsubscribed"]), "escape_event_types"),
        ("hot", lambda d: d["hot"].update(trigger_event_types=["demo_requests"]), "trigger_event_types"),
    ],
)
def test_an_event_type_outside_the_contract_is_refused(tmp_path, default_data, section, edit, entry):
    """A misspelt type would match no event: its rule, escape or trigger would silently never fire."""
    edit(default_data)
    with pytest.raises(ConfigError, match=entry) as error:
        load_config(_write(tmp_path, default_data))
    assert "not an event type of the input contract" in str(error.value)


def test_signals_subtract_and_engagement_adds(tmp_path, default_data):
    default_data["negative"]["rules"][0]["points"] = 10
    with pytest.raises(ConfigError, match=r"negative.rules\[0\] \(personal_email\).points"):
        load_config(_write(tmp_path, default_data))
    default_data["negative"]["rules"][0]["points"] = -10
    default_data["engagement"]["rules"][0]["points"] = -5
    with pytest.raises(ConfigError, match=r"engagement.rules\[0\] \(\w+\).points"):
        load_config(_write(tmp_path, default_data))


def test_a_value_listed_twice_is_kept_once(tmp_path, default_data):
    """Each list value is a row the models join on: listed twice, it would match every lead twice."""
    default_data["lists"]["personal_email_domains"] = ["gmail.com", "Gmail.com ", "yahoo.com"]
    default_data["hot"]["trigger_event_types"] = ["demo_request", "demo_request"]
    tables = load_config(_write(tmp_path, default_data)).tables()

    personal = [r["domain"] for r in tables["domain_lists"] if r["list_name"] == "personal_email"]
    assert personal == ["gmail.com", "yahoo.com"]
    assert [r["value"] for r in tables["event_lists"] if r["list_name"] == "hot_event_type"] == ["demo_request"]


def test_an_escape_is_an_unsubscribe_unless_the_file_says_otherwise(tmp_path, default_data):
    del default_data["negative"]["escape_event_types"]
    assert load_config(_write(tmp_path, default_data)).negative.escape_event_types == ["unsubscribe"]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize(
    ("rule", "points", "entry"),
    [
        ("ideal_industry", "points: 15,", "fit[0] (ideal_industry)"),
        ("page_views", "points: 1,", "engagement.rules[2] (page_views)"),
    ],
)
def test_a_points_value_that_is_not_a_finite_number_is_refused(tmp_path, value, rule, points, entry):
    """dbt casts points to DECIMAL: a NaN or an infinity failed there, far from the entry."""
    lines = (ROOT / "scoring.yml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if f"name: {rule}," in line)
    lines[at] = lines[at].replace(points, f"points: {value},")
    path = tmp_path / "scoring.yml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{entry}.points: must be a finite number" in str(error.value)


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    """YAML keeps the last of two equal keys without a word: the first value silently vanishes."""
    lines = (ROOT / "scoring.yml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "name: good_industry," in line)
    lines.insert(at + 1, "    points: 20,")
    lines[at] = lines[at].replace("points: 8}", "points: 8,")
    lines[at + 1] += " description: twice}"
    path = tmp_path / "scoring.yml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"duplicate key 'points' at line {at + 2}" in str(error.value)
    assert f"first given at line {at + 1}" in str(error.value)


def test_two_bands_with_the_same_min_points_are_refused_by_name(tmp_path, default_data):
    """The second of two equal thresholds could never be reached."""
    default_data["segments"]["thresholds"][1]["min_points"] = 85
    with pytest.raises(ConfigError) as error:
        load_config(_write(tmp_path, default_data))
    assert "segments.thresholds[1] (mql).min_points: 85 is also the min_points of sql" in str(error.value)


def test_an_anchor_merged_into_a_mapping_may_still_be_overridden(tmp_path, default_data):
    """A merge key (<<) is YAML's way to override on purpose, not a duplicate."""
    text = (ROOT / "scoring.yml").read_text()
    text = text.replace(
        "  - {name: good_industry, attribute: industry, equals_any: [healthcare, manufacturing], points: 8}",
        "  - &good {name: good_industry, attribute: industry, equals_any: [healthcare, manufacturing], points: 8}\n"
        "  - {<<: *good, name: fair_industry, equals_any: [retail], points: 4}",
    )
    path = tmp_path / "scoring.yml"
    path.write_text(text)
    fit = load_config(path).fit
    assert [(r.name, r.points) for r in fit[1:3]] == [("good_industry", 8), ("fair_industry", 4)]
