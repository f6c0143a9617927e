"""The usual alternative: the same scoring as leadops, written the way a data scientist would in pandas.

Reads the files with pandas and pyarrow, applies the rules of scoring.yml (through
`leadops.config.load_config`, so both read the same model) with masks, groupby and merge, and writes
`lead_scores` and `segment_members` as Parquet. No DuckDB. The specification is the dbt SQL in
dbt_project/models and its unit tests; points are kept as whole cents so that sums are exact like
the SQL's decimal(12, 2), and rounding is half away from zero like DuckDB's `round`.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.contenders._common import TEXT_ATTRIBUTES, parser, report

TRUE_WORDS = {"true", "t", "yes", "y", "1"}


# ---------------------------------------------------------------------------------------------
# Points: whole cents, rounded like DuckDB's round(x, 2)


def cents(values) -> np.ndarray:
    """Points as whole cents, half away from zero (numpy's own round goes half to even), rounded to
    six places first like the SQL's `points` macro."""
    micro = _half_away_from_zero(np.asarray(values, dtype="float64") * 1_000_000)
    return _half_away_from_zero(micro / 10_000).astype("int64")


def _half_away_from_zero(scaled: np.ndarray) -> np.ndarray:
    return np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)


def first_band(points_cents: pd.Series, bands) -> pd.Series:
    """The label of the first band (highest first) the points reach; the last band is the catch-all."""
    labels = pd.Series(bands[-1].label, index=points_cents.index, dtype="object")
    for band in reversed(bands[:-1]):
        labels = labels.mask(points_cents >= band.min_points * 100, band.label)
    return labels


# ---------------------------------------------------------------------------------------------
# Reading the landing folder


def read_csvs(folder: Path, columns: list[str]) -> pd.DataFrame:
    """Every CSV of a source, text only, trimmed, empty as missing; extra columns ignored."""
    frames = []
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.columns = [c.strip().lower() for c in frame.columns]
        frame = frame.reindex(columns=columns)
        frames.append(frame.apply(lambda s: s.str.strip().replace("", None)))
    return pd.concat(frames, ignore_index=True)


def to_bool(series: pd.Series) -> pd.Series:
    return series.str.lower().isin(TRUE_WORDS)


def to_utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_localize(None)


def read_leads(landing: Path) -> pd.DataFrame:
    columns = ["lead_id", "email", "created_at", "first_name", "last_name", "job_title", "company_name"]
    columns += ["company_domain", "country", "lead_source", "is_unsubscribed", "is_email_bounced"]
    leads = read_csvs(landing / "leads", columns).drop_duplicates("lead_id", keep="last")
    leads["email"] = leads["email"].str.lower()
    leads["company_domain"] = leads["company_domain"].str.lower()
    leads["created_at"] = to_utc(leads["created_at"])
    leads["email_domain"] = leads["email"].str.split("@").str[1]
    leads["country_code"] = leads["country"].str.upper()
    leads["lead_source"] = leads["lead_source"].str.lower()
    for flag in ("is_unsubscribed", "is_email_bounced"):
        leads[flag] = to_bool(leads[flag])
    return leads.drop(columns=["country"])


def read_accounts(landing: Path) -> pd.DataFrame:
    columns = ["company_domain", "company_name", "industry", "employees", "annual_revenue", "country", "is_customer"]
    accounts = read_csvs(landing / "accounts", columns)
    accounts["company_domain"] = accounts["company_domain"].str.lower()
    accounts = accounts.drop_duplicates("company_domain", keep="last")
    accounts["industry"] = accounts["industry"].str.lower()
    accounts["account_country"] = accounts["country"].str.upper()
    accounts["employees"] = pd.to_numeric(accounts["employees"])
    accounts["annual_revenue"] = pd.to_numeric(accounts["annual_revenue"])
    return accounts.drop(columns=["country", "company_name", "is_customer"])


def read_events(landing: Path) -> pd.DataFrame:
    columns = ["event_id", "lead_id", "event_type", "occurred_at", "url", "campaign_id"]
    files = sorted((landing / "activity").glob("*.parquet"))
    events = pd.concat([pd.read_parquet(p, columns=columns) for p in files], ignore_index=True)
    events = events.drop_duplicates("event_id", keep="first")  # the same event delivered twice counts once
    events["url"] = events["url"].str.lower()
    return events


# ---------------------------------------------------------------------------------------------
# Leads: title roles, accounts, fit


def words(series: pd.Series) -> pd.Series:
    """Lower-case words with a space at each end, so keywords match whole words only."""
    text = series.fillna("").str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip(" ")
    return " " + text + " "


def keyword_words(keyword: str) -> str:
    return words(pd.Series([keyword])).iloc[0]


def title_roles(titles: pd.Series, groups) -> pd.Series:
    """The value of the first keyword group (priority, then keyword) whose words the title contains."""
    title_words = words(titles)
    ordered = sorted(
        ((priority, keyword, group.value) for priority, group in enumerate(groups, 1) for keyword in group.keywords)
    )
    role = pd.Series(None, index=titles.index, dtype="object")
    for _, keyword, value in ordered:
        hit = role.isna() & title_words.str.contains(keyword_words(keyword), regex=False)
        role = role.mask(hit, value)
    return role.where(titles.notna())


def enrich(leads: pd.DataFrame, accounts: pd.DataFrame, config, as_of: date) -> pd.DataFrame:
    leads = leads[leads["created_at"].dt.date <= as_of].copy()
    leads["is_personal_email"] = leads["email_domain"].isin(config.lists.personal_email_domains)
    work_domain = leads["email_domain"].where(~leads["is_personal_email"])
    leads["account_domain"] = leads["company_domain"].fillna(work_domain)
    leads = leads.merge(accounts, how="left", left_on="account_domain", right_on="company_domain", suffixes=("", "_a"))
    leads["country_code"] = leads["country_code"].fillna(leads["account_country"])
    titles = pd.Series(leads["job_title"].dropna().unique())
    for dimension in ("seniority", "department"):
        roles = dict(zip(titles, title_roles(titles, config.title_keywords[dimension]), strict=True))
        leads[dimension] = leads["job_title"].map(roles).fillna("unknown")
    return leads.set_index("lead_id")


def fit_points(leads: pd.DataFrame, config) -> pd.Series:
    """Each fit rule adds its points once when any of its values match."""
    total = np.zeros(len(leads), dtype="int64")
    for rule in config.fit:
        if rule.between:
            value = leads[rule.attribute].astype("float64")
            hit = value.between(rule.between[0], rule.between[1])
        else:
            value = leads[TEXT_ATTRIBUTES[rule.attribute]].str.lower()
            if rule.equals_any:
                hit = value.isin(rule.equals_any)
            else:
                value_words = words(value)
                hit = pd.Series(False, index=leads.index)
                for keyword in rule.contains_any:
                    hit |= value_words.str.contains(keyword_words(keyword), regex=False)
                hit &= value.notna()
        total += np.where(hit.fillna(False).to_numpy(dtype=bool), cents(rule.points), 0)
    return pd.Series(total, index=leads.index)


# ---------------------------------------------------------------------------------------------
# Events: engagement, activity summary, urgency


def events_in_scope(events: pd.DataFrame, leads: pd.DataFrame, as_of: date) -> pd.DataFrame:
    events = events[events["lead_id"].isin(leads.index)]
    day = events["occurred_at"].dt.floor("D")
    events = events[day <= pd.Timestamp(as_of)].copy()
    events["days"] = (pd.Timestamp(as_of) - events["occurred_at"].dt.floor("D")).dt.days
    return events


def engagement_points(events: pd.DataFrame, leads: pd.DataFrame, config) -> pd.Series:
    """Decayed rule points, capped per rule, per group and in total; only after the lead's last escape."""
    escapes = events[events["event_type"].isin(config.negative.escape_event_types)]
    reset_at = escapes.groupby("lead_id")["occurred_at"].max()
    last_reset = events["lead_id"].map(reset_at)
    after_reset = last_reset.isna() | (events["occurred_at"] > last_reset)
    url = events["url"].fillna("")
    per_rule = []
    for rule in config.engagement.rules:
        hit = (events["event_type"] == rule.event_type) & after_reset
        if rule.url_contains:
            hit &= url.str.contains(rule.url_contains, regex=False)
        if rule.window_days:
            hit &= events["days"] <= rule.window_days
        matched = events.loc[hit, ["lead_id", "days"]]
        if matched.empty:
            continue
        decay = 1.0 if rule.half_life_days is None else np.power(0.5, matched["days"] / rule.half_life_days)
        # The rule's points times the events' summed weight, as int_engagement_rules_applied weighs them.
        decayed = rule.points * pd.Series(decay, index=matched.index).groupby(matched["lead_id"]).sum()
        if rule.max_points is not None:
            decayed = decayed.clip(upper=rule.max_points)
        # Rules without a group are capped on their own (their key is the rule's name).
        per_rule.append(pd.DataFrame({"group": rule.group or rule.name, "capped": rule.group, "cents": cents(decayed)}))
        per_rule[-1]["lead_id"] = decayed.index
    if not per_rule:
        return pd.Series(0, index=leads.index, dtype="int64")
    groups = pd.concat(per_rule).groupby(["lead_id", "group", "capped"], dropna=False)["cents"].sum().reset_index()
    for group, cap in config.engagement.group_caps.items():
        groups.loc[(groups["capped"] == group) & (groups["cents"] > cap * 100), "cents"] = cents(cap)
    total = groups.groupby("lead_id")["cents"].sum().reindex(leads.index, fill_value=0)
    cap = config.engagement.total_cap
    return total.where(total <= cap * 100, cents(cap))


def activity_summary(events: pd.DataFrame, leads: pd.DataFrame, config) -> pd.DataFrame:
    """Per lead: last activity, careers page views, unsubscribes, and opens of the latest newsletters."""
    engaged = events[events["event_type"] != "email_delivered"]
    careers = (engaged["event_type"] == "page_view") & engaged["url"].fillna("").str.contains("/careers", regex=False)
    summary = pd.DataFrame(
        {
            "last_engaged_at": engaged.groupby("lead_id")["occurred_at"].max(),
            "careers_page_views": careers.groupby(engaged["lead_id"]).sum(),
            "unsubscribe_events": (engaged["event_type"] == "unsubscribe").groupby(engaged["lead_id"]).sum(),
        }
    ).reindex(leads.index)
    with_campaign = events[events["campaign_id"].notna()]
    delivered = (
        with_campaign[with_campaign["event_type"] == "email_delivered"]
        .groupby(["lead_id", "campaign_id"], as_index=False)["occurred_at"]
        .max()
        .sort_values(["lead_id", "occurred_at", "campaign_id"], ascending=[True, False, True])
    )
    recent = delivered[delivered.groupby("lead_id").cumcount() < config.negative.newsletters_ignored_count]
    opened = with_campaign[with_campaign["event_type"].isin(["email_open", "email_click"])]
    opened = opened[["lead_id", "campaign_id"]].drop_duplicates().assign(opened=True)
    recent = recent.merge(opened, how="left", on=["lead_id", "campaign_id"])
    recent["opened"] = recent["opened"].fillna(False).astype(bool)
    summary["recent_newsletters"] = recent.groupby("lead_id").size().reindex(leads.index, fill_value=0)
    summary["recent_newsletters_opened"] = recent.groupby("lead_id")["opened"].sum().reindex(leads.index, fill_value=0)
    return summary.fillna({"careers_page_views": 0, "unsubscribe_events": 0})


def is_hot(events: pd.DataFrame, leads: pd.DataFrame, config) -> pd.Series:
    """Any urgency trigger within the last window: trigger event, page-view burst, case studies,
    a trigger page, or engagement velocity against the prior days."""
    hot = config.hot
    recent = events[events["days"] < hot.window_days]
    url = recent["url"].fillna("")
    page_views = recent[recent["event_type"] == "page_view"]
    hours = page_views.groupby(["lead_id", page_views["occurred_at"].dt.floor("h")]).size()
    case_studies = (recent["event_type"] == "content_download") & url.str.contains(hot.case_study_url, regex=False)
    trigger_page = pd.Series(False, index=recent.index)
    for trigger_url in hot.trigger_urls:
        trigger_page |= url.str.contains(trigger_url, regex=False)
    trigger_page &= recent["event_type"] == "page_view"

    engaged = events[(events["event_type"] != "email_delivered") & (events["days"] < hot.window_days + hot.prior_days)]
    in_window = engaged["days"] < hot.window_days
    recent_events = in_window.groupby(engaged["lead_id"]).sum()
    prior_events = (~in_window).groupby(engaged["lead_id"]).sum()
    velocity = (recent_events >= hot.velocity_min_events) & (
        recent_events / hot.window_days >= hot.velocity_ratio * prior_events / hot.prior_days
    )
    hot_leads = set(recent.loc[recent["event_type"].isin(hot.trigger_event_types), "lead_id"])
    hot_leads |= set(hours[hours >= hot.burst_page_views_per_hour].index.get_level_values("lead_id"))
    downloads = case_studies.groupby(recent["lead_id"]).sum()
    hot_leads |= set(downloads[downloads >= hot.case_study_downloads].index)
    hot_leads |= set(recent.loc[trigger_page, "lead_id"])
    hot_leads |= set(velocity[velocity].index)
    return pd.Series(leads.index.isin(list(hot_leads)), index=leads.index)


# ---------------------------------------------------------------------------------------------
# Negative signals, accounts, score


def keyword_hit(text_words: pd.Series, keywords: list[str]) -> pd.Series:
    hit = pd.Series(False, index=text_words.index)
    for keyword in keywords:
        hit |= text_words.str.contains(keyword_words(keyword), regex=False)
    return hit


def negative_signals(leads: pd.DataFrame, activity: pd.DataFrame, config, as_of: date) -> pd.DataFrame:
    negative = config.negative
    searchable = words(
        leads["first_name"].fillna("")
        + " "
        + leads["last_name"].fillna("")
        + " "
        + leads["job_title"].fillna("")
        + " "
        + leads["email"]
    )
    last_seen = activity["last_engaged_at"].fillna(leads["created_at"]).dt.floor("D")
    signals = {
        "personal_email": leads["is_personal_email"],
        "competitor": leads["account_domain"].fillna(leads["email_domain"]).isin(config.lists.competitor_domains),
        "unsubscribed": leads["is_unsubscribed"] | (activity["unsubscribe_events"] > 0),
        "email_bounced": leads["is_email_bounced"],
        "junk": keyword_hit(searchable, config.lists.junk_keywords),
        "job_applicant": keyword_hit(searchable, config.lists.job_applicant_keywords)
        | (activity["careers_page_views"] >= negative.careers_page_views),
        "newsletters_ignored": (activity["recent_newsletters"] >= negative.newsletters_ignored_count)
        & (activity["recent_newsletters_opened"] == 0),
        "dormant": (pd.Timestamp(as_of) - last_seen).dt.days > negative.dormant_days,
    }
    points = np.zeros(len(leads), dtype="int64")
    disqualified = np.zeros(len(leads), dtype=bool)
    for rule in negative.rules:
        hit = signals[rule.signal].fillna(False).to_numpy(dtype=bool)
        if rule.disqualify:
            disqualified |= hit
        else:
            points += np.where(hit, cents(rule.points), 0)
    return pd.DataFrame({"negative_cents": points, "is_disqualified": disqualified}, index=leads.index)


def account_lift(leads: pd.DataFrame, engagement: pd.Series, config) -> pd.Series:
    """Every lead of a marketing-qualified account (enough engaged contacts in enough departments)."""
    accounts = config.accounts
    contacts = leads[leads["account_domain"].notna()][["account_domain", "department"]].copy()
    contacts["engaged"] = engagement.reindex(contacts.index) >= accounts.engaged_min_points * 100
    engaged = contacts[contacts["engaged"]]
    per_account = pd.DataFrame(
        {
            "engaged_contacts": engaged.groupby("account_domain").size(),
            "departments": engaged[engaged["department"] != "unknown"]
            .groupby("account_domain")["department"]
            .nunique(),
        }
    ).fillna(0)
    qualified = per_account[
        (per_account["engaged_contacts"] >= accounts.mqa_min_engaged_contacts)
        & (per_account["departments"] >= accounts.mqa_min_departments)
    ].index
    return pd.Series(np.where(leads["account_domain"].isin(qualified), cents(accounts.lift_points), 0), leads.index)


def score(landing: Path, config, as_of: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    leads = enrich(read_leads(landing), read_accounts(landing), config, as_of)
    events = events_in_scope(read_events(landing), leads, as_of)
    fit = fit_points(leads, config)
    engagement = engagement_points(events, leads, config)
    negative = negative_signals(leads, activity_summary(events, leads, config), config, as_of)
    raw = fit + engagement + account_lift(leads, engagement, config) + negative["negative_cents"]
    total = raw.clip(0, 10_000)
    disqualified = negative["is_disqualified"]
    scores = pd.DataFrame(
        {
            "score": total / 100,
            "fit_points": fit / 100,
            "fit_grade": first_band(fit, config.grades),
            "engagement_points": engagement / 100,
            "engagement_tier": first_band(engagement, config.tiers),
            "negative_points": negative["negative_cents"] / 100,
            "is_disqualified": disqualified,
            "segment": first_band(total, config.segments.thresholds).mask(disqualified, "disqualified"),
            "is_hot": is_hot(events, leads, config) & ~disqualified,
        }
    ).rename_axis("lead_id")
    return scores.reset_index(), segment_members(scores.reset_index(), config)


def segment_members(scores: pd.DataFrame, config) -> pd.DataFrame:
    """Every lead's lifecycle segment, and the campaign lists it is on (never a disqualified lead)."""
    members = [scores[["lead_id", "segment"]].assign(list_type="lifecycle")]
    eligible = scores[~scores["is_disqualified"]]
    for entry in config.segment_lists:
        on_list = pd.Series(True, index=eligible.index)
        if entry.segments:
            on_list &= eligible["segment"].isin(entry.segments)
        if entry.fit_grades:
            on_list &= eligible["fit_grade"].isin(entry.fit_grades)
        if entry.hot_only:
            on_list &= eligible["is_hot"]
        members.append(eligible.loc[on_list, ["lead_id"]].assign(segment=entry.name, list_type="list"))
    return pd.concat(members, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__).parse_args(argv)
    from leadops.config import load_config

    started = time.perf_counter()
    scores, members = score(args.landing, load_config(args.config), args.as_of)
    args.out.mkdir(parents=True, exist_ok=True)
    scores.to_parquet(args.out / "lead_scores.parquet", index=False)
    members.to_parquet(args.out / "segment_members.parquet", index=False)
    core = time.perf_counter() - started
    report(core_s=round(core, 3), rows={"lead_scores": len(scores), "segment_members": len(members)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
