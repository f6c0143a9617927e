"""The activity of the demo data: each lead's web, email and event history, drawn from its propensity."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadops.contract import EVENT_TYPES
from leadops.demo_data.crm import choice

PAGES = [
    "/",
    "/product",
    "/features",
    "/integrations",
    "/blog/lead-scoring-101",
    "/blog/revops",
    "/about",
    "/pricing",
    "/contact",
    "/careers",
]
PAGE_WEIGHTS_LOW = [0.20, 0.14, 0.12, 0.08, 0.18, 0.14, 0.07, 0.03, 0.01, 0.03]
PAGE_WEIGHTS_HIGH = [0.10, 0.16, 0.14, 0.12, 0.08, 0.06, 0.04, 0.18, 0.10, 0.02]
CONTENT = [
    "/whitepapers/icp-guide",
    "/ebooks/scoring-playbook",
    "/case-studies/acme",
    "/case-studies/globex",
    "/reports/benchmark-2026",
]
CONTENT_WEIGHTS_LOW = [0.35, 0.35, 0.08, 0.07, 0.15]
CONTENT_WEIGHTS_HIGH = [0.15, 0.15, 0.28, 0.27, 0.15]

# Event-type mix of a disinterested lead and of a buyer; each event is drawn from one or the other
# with the lead's propensity.
EVENT_MIX_LOW = {
    "email_delivered": 0.42,
    "email_open": 0.20,
    "email_click": 0.02,
    "page_view": 0.26,
    "content_download": 0.02,
    "webinar_registration": 0.008,
    "webinar_attendance": 0.002,
    "form_submission": 0.01,
    "demo_request": 0.0005,
    "trial_signup": 0.0005,
    "newsletter_subscribe": 0.006,
    "unsubscribe": 0.003,
    "social_engagement": 0.03,
}
EVENT_MIX_HIGH = {
    "email_delivered": 0.22,
    "email_open": 0.22,
    "email_click": 0.08,
    "page_view": 0.30,
    "content_download": 0.05,
    "webinar_registration": 0.025,
    "webinar_attendance": 0.02,
    "form_submission": 0.02,
    "demo_request": 0.01,
    "trial_signup": 0.008,
    "newsletter_subscribe": 0.01,
    "unsubscribe": 0.0,
    "social_engagement": 0.037,
}


def draw_activity(
    rng: np.random.Generator,
    leads: pd.DataFrame,
    propensity: np.ndarray,
    end: datetime,
    events_per_lead: float,
    first_event_number: int,
) -> pa.Table:
    n = len(leads)
    volume = 0.25 + 1.5 * propensity
    counts = rng.poisson(events_per_lead * volume / volume.mean())
    lead_idx = np.repeat(np.arange(n), counts)
    total = len(lead_idx)
    p = propensity[lead_idx]
    buyer_like = rng.random(total) < p

    event_type = np.where(
        buyer_like,
        choice(rng, list(EVENT_MIX_HIGH), list(EVENT_MIX_HIGH.values()), total),
        choice(rng, list(EVENT_MIX_LOW), list(EVENT_MIX_LOW.values()), total),
    )
    assert set(np.unique(event_type)) <= set(EVENT_TYPES)

    created = pd.to_datetime(leads["created_at"].to_numpy(), utc=True).tz_localize(None).to_numpy()
    start = created[lead_idx].astype("datetime64[s]").astype(np.int64)
    stop = np.int64(np.datetime64(end, "s").astype(np.int64))
    recency = rng.random(total) ** (1.0 / (1.0 + 3.0 * p))  # buyers are active more recently
    occurred = (start + (stop - start) * recency).astype("datetime64[s]")

    is_page = event_type == "page_view"
    is_content = event_type == "content_download"
    url = np.full(total, None, dtype=object)
    url[is_page] = np.where(
        buyer_like[is_page],
        choice(rng, PAGES, PAGE_WEIGHTS_HIGH, int(is_page.sum())),
        choice(rng, PAGES, PAGE_WEIGHTS_LOW, int(is_page.sum())),
    )
    url[is_content] = np.where(
        buyer_like[is_content],
        choice(rng, CONTENT, CONTENT_WEIGHTS_HIGH, int(is_content.sum())),
        choice(rng, CONTENT, CONTENT_WEIGHTS_LOW, int(is_content.sum())),
    )
    applicant = leads["job_title"].isin(["Student", "Looking for work", "Recent graduate"]).to_numpy()
    url[is_page & applicant[lead_idx] & (rng.random(total) < 0.5)] = "/careers"

    # Newsletters go out weekly; opens and clicks name the week's campaign.
    is_email = np.isin(event_type, ["email_delivered", "email_open", "email_click"])
    week = pd.Series(occurred[is_email]).dt.strftime("nl-%G-w%V").to_numpy(dtype=object)
    campaign = np.full(total, None, dtype=object)
    campaign[is_email] = week

    event_number = first_event_number + np.arange(total)
    event_id = pc.binary_join_element_wise("ev", pa.array(event_number).cast(pa.string()), "")
    order = np.lexsort((occurred, lead_idx))
    return pa.table(
        {
            "event_id": event_id.take(pa.array(order)),
            "lead_id": pa.array(leads["lead_id"].to_numpy()[lead_idx][order], pa.string()),
            "event_type": pa.array(event_type[order], pa.string()),
            "occurred_at": pa.array(occurred[order].astype("datetime64[us]"), pa.timestamp("us")),
            "url": pa.array(url[order], pa.string()),
            "content_id": pa.array(np.where(is_content, url, None)[order], pa.string()),
            "campaign_id": pa.array(campaign[order], pa.string()),
        }
    )
