"""The CRM side of the demo data: accounts, leads (with their hidden propensity and the custom
fields sales fills in) and the conversions drawn from that propensity."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

INDUSTRIES = [
    "software",
    "financial services",
    "healthcare",
    "manufacturing",
    "retail",
    "education",
    "government",
    "media",
]
INDUSTRY_WEIGHTS = [0.22, 0.14, 0.12, 0.14, 0.12, 0.10, 0.06, 0.10]
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "SE", "CA", "AU", "IN", "BR", "ES", "JP"]
COUNTRY_WEIGHTS = [0.34, 0.12, 0.10, 0.07, 0.05, 0.04, 0.07, 0.05, 0.07, 0.04, 0.03, 0.02]
COMPETITORS = [
    ("rivalscore.io", "RivalScore"),
    ("funnelforge.com", "FunnelForge"),
    ("pipelinepro.com", "PipelinePro"),
]
PERSONAL_DOMAINS = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"]
LEAD_SOURCES = ["organic", "paid_search", "webinar", "referral", "event", "social", "partner"]

SENIORITIES = ["executive", "vp", "director", "manager", "individual_contributor", "entry"]
SENIORITY_WEIGHTS = [0.07, 0.07, 0.12, 0.26, 0.38, 0.10]
DEPARTMENTS = ["marketing", "sales", "it", "finance", "operations", "hr"]
DEPARTMENT_WEIGHTS = [0.24, 0.20, 0.26, 0.10, 0.10, 0.10]
TITLES = {  # (seniority, department) -> title
    "executive": ["Chief Marketing Officer", "Chief Revenue Officer", "CTO", "CFO", "COO", "Founder & CEO"],
    "vp": ["VP Marketing", "VP of Sales", "VP Engineering", "VP Finance", "VP Operations", "VP People"],
    "director": [
        "Director of Marketing",
        "Sales Director",
        "IT Director",
        "Finance Director",
        "Director of Operations",
        "HR Director",
    ],
    "manager": [
        "Marketing Manager",
        "Sales Manager",
        "IT Manager",
        "Finance Manager",
        "Operations Manager",
        "HR Manager",
    ],
    "individual_contributor": [
        "Marketing Specialist",
        "Sales Representative",
        "Software Engineer",
        "Financial Analyst",
        "Operations Analyst",
        "HR Coordinator",
    ],
    "entry": [
        "Marketing Intern",
        "Junior Sales Associate",
        "Junior Developer",
        "Accounting Assistant",
        "Operations Trainee",
        "HR Assistant",
    ],
}
FIRST_NAMES = [
    "Alex",
    "Sam",
    "Maria",
    "John",
    "Priya",
    "Chen",
    "Fatima",
    "Lukas",
    "Emma",
    "Olivia",
    "Noah",
    "Liam",
    "Sofia",
    "Yuki",
    "Omar",
    "Anna",
    "David",
    "Laura",
    "Mateo",
    "Aisha",
    "Jonas",
    "Elena",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Müller",
    "Patel",
    "Kim",
    "Nguyen",
    "Johnson",
    "Rossi",
    "Silva",
    "Cohen",
    "Brown",
    "Schmidt",
    "Tanaka",
    "Khan",
    "Martin",
    "Larsen",
    "Novak",
    "Dubois",
    "Okafor",
    "Haddad",
]
NAME_WORDS = [
    "Blue",
    "North",
    "Bright",
    "Apex",
    "Clear",
    "Iron",
    "Nova",
    "Silver",
    "Vertex",
    "Green",
    "Summit",
    "Quantum",
    "Harbor",
    "Pioneer",
    "Atlas",
    "Cedar",
    "Falcon",
    "Orbit",
    "Prism",
    "Beacon",
]
NAME_NOUNS = [
    "Systems",
    "Labs",
    "Analytics",
    "Health",
    "Logistics",
    "Capital",
    "Works",
    "Retail",
    "Media",
    "Dynamics",
    "Networks",
    "Foods",
    "Energy",
    "Learning",
    "Partners",
    "Robotics",
]

# CRM custom fields beyond the contract: the loader keeps them as lead attributes for the
# predictive model. `budget_band` and `employees_in_it` carry real signal (both are drawn from the
# hidden propensity and from the lead's intent, which the rules cannot see), `crm_used` little;
# `lead_quality` and `call_duration_sec` are filled by sales only after contact, so they reveal the
# outcome and the leakage guard must drop them.
CUSTOM_FIELDS = ("budget_band", "crm_used", "employees_in_it", "lead_quality", "call_duration_sec")
CUSTOM_FIELDS_STREAM = 7_001  # their own random stream: the contract columns stay as they were
BUDGET_BANDS = ["<10k", "10k-50k", "50k-100k", "100k-250k", "250k+"]
CRMS = ["salesforce", "hubspot", "pipedrive", "zoho", "none"]


def choice(rng: np.random.Generator, options: list, weights: list[float], size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=size, p=p / p.sum())]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def draw_accounts(rng: np.random.Generator, n: int) -> pd.DataFrame:
    words = choice(rng, NAME_WORDS, [1] * len(NAME_WORDS), n)
    nouns = choice(rng, NAME_NOUNS, [1] * len(NAME_NOUNS), n)
    names = words + " " + nouns
    numbers = np.arange(n).astype(str)
    domains = (pd.Series(words).str.lower() + pd.Series(nouns).str.lower() + numbers + ".com").to_numpy()
    employees = np.clip(np.round(rng.lognormal(5.3, 1.7, n)), 1, 250_000).astype(np.int64)
    frame = pd.DataFrame(
        {
            "company_domain": domains,
            "company_name": names,
            "industry": choice(rng, INDUSTRIES, INDUSTRY_WEIGHTS, n),
            "employees": employees,
            "annual_revenue": np.round(employees * rng.uniform(60_000, 320_000, n), -3),
            "country": choice(rng, COUNTRIES, COUNTRY_WEIGHTS, n),
            "is_customer": rng.random(n) < 0.04,
        }
    )
    competitors = pd.DataFrame(
        {
            "company_domain": [d for d, _ in COMPETITORS],
            "company_name": [c for _, c in COMPETITORS],
            "industry": "software",
            "employees": [180, 950, 2400],
            "annual_revenue": [2.5e7, 1.2e8, 4.1e8],
            "country": "US",
            "is_customer": False,
        }
    )
    frame = pd.concat([frame, competitors], ignore_index=True)
    frame["_weight"] = np.log1p(frame["employees"].to_numpy())
    return frame


def draw_leads(
    rng: np.random.Generator, n: int, accounts: pd.DataFrame, end: datetime
) -> tuple[pd.DataFrame, np.ndarray]:
    weights = accounts["_weight"].to_numpy()
    account = rng.choice(len(accounts), size=n, p=weights / weights.sum())
    seniority_idx = rng.choice(len(SENIORITIES), size=n, p=np.array(SENIORITY_WEIGHTS) / sum(SENIORITY_WEIGHTS))
    department_idx = rng.choice(len(DEPARTMENTS), size=n, p=np.array(DEPARTMENT_WEIGHTS))
    title_table = np.array([TITLES[s] for s in SENIORITIES], dtype=object)
    titles = title_table[seniority_idx, department_idx]
    first = choice(rng, FIRST_NAMES, [1] * len(FIRST_NAMES), n)
    last = choice(rng, LAST_NAMES, [1] * len(LAST_NAMES), n)
    acct = accounts.iloc[account].reset_index(drop=True)
    domain = acct["company_domain"].to_numpy(dtype=object)

    kind = rng.random(n)
    is_junk = kind < 0.02
    is_applicant = (kind >= 0.02) & (kind < 0.04)
    is_personal = (kind >= 0.04) & (kind < 0.13)
    personal_domain = choice(rng, PERSONAL_DOMAINS, [1] * len(PERSONAL_DOMAINS), n)
    local = (
        pd.Series(first).str.lower().str.replace("ü", "u")
        + "."
        + pd.Series(last).str.lower().str.replace("ü", "u")
        + np.arange(n).astype(str)
    )
    email = np.where(is_personal | is_applicant, local + "@" + personal_domain, local + "@" + domain)
    email = np.where(is_junk, "test" + np.arange(n).astype(str) + "@example.com", email)
    first = np.where(is_junk, "Test", first)
    last = np.where(is_junk, "Test", last)
    titles = np.where(
        is_applicant, choice(rng, ["Student", "Looking for work", "Recent graduate"], [1, 1, 1], n), titles
    )
    titles = np.where(is_junk, "asdf", titles)
    is_competitor = np.isin(domain, [d for d, _ in COMPETITORS])

    industry = acct["industry"].to_numpy()
    employees = acct["employees"].to_numpy()
    seniority = np.asarray(SENIORITIES, dtype=object)[seniority_idx]
    department = np.asarray(DEPARTMENTS, dtype=object)[department_idx]
    score = (
        1.1 * np.isin(industry, ["software", "financial services"])
        + 0.5 * np.isin(industry, ["healthcare", "manufacturing"])
        + 0.7 * ((employees >= 200) & (employees <= 5000))
        + 0.9 * np.isin(seniority, ["executive", "vp"])
        + 0.5 * (seniority == "director")
        + 0.4 * np.isin(department, ["marketing", "sales", "operations"])
        - 1.2 * (seniority == "entry")
        - 0.4 * (seniority == "individual_contributor")
        - 0.8 * is_personal
        - 4.0 * (is_junk | is_applicant | is_competitor)
        + rng.normal(0, 0.8, n)
    )
    propensity = sigmoid(score - 1.6)

    created = end - pd.to_timedelta(rng.uniform(1, 420, n), unit="D")
    frame = pd.DataFrame(
        {
            "lead_id": "L" + pd.Series(np.arange(1, n + 1).astype(str)).str.zfill(7),
            "email": email,
            "created_at": pd.Series(created).dt.floor("s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "first_name": first,
            "last_name": last,
            "job_title": titles,
            "company_name": np.where(is_personal | is_applicant, None, acct["company_name"].to_numpy()),
            "company_domain": np.where(is_personal | is_applicant | is_junk, None, domain),
            "country": acct["country"].to_numpy(),
            "lead_source": choice(rng, LEAD_SOURCES, [0.3, 0.2, 0.12, 0.12, 0.1, 0.1, 0.06], n),
            "is_unsubscribed": rng.random(n) < 0.03,
            "is_email_bounced": rng.random(n) < 0.02,
        }
    )
    return frame, propensity


def _won(leads: pd.DataFrame, conversions: pd.DataFrame) -> np.ndarray:
    return leads["lead_id"].isin(conversions.loc[conversions["stage"] == "closed_won", "lead_id"]).to_numpy()


def draw_custom_fields(
    rng: np.random.Generator, leads: pd.DataFrame, propensity: np.ndarray, conversions: pd.DataFrame
) -> pd.DataFrame:
    n = len(leads)
    # The budget a lead states on the form also reflects its intent, which fit alone does not show
    # and which shows later in whether it buys: the signal a model can find and rules cannot.
    intent = _won(leads, conversions)
    latent = np.log(propensity / (1 - propensity)) + 0.8 * intent + rng.normal(0, 0.8, n)
    budget = np.asarray(BUDGET_BANDS, dtype=object)[np.digitize(latent, [-2.0, -1.0, -0.3, 0.5])]
    large = leads["company_domain"].notna().to_numpy() & (rng.random(n) < 0.5)
    crm = np.where(
        large,
        choice(rng, CRMS, [0.45, 0.3, 0.1, 0.1, 0.05], n),
        choice(rng, CRMS, [0.2, 0.3, 0.2, 0.1, 0.2], n),
    )
    in_it = np.round(np.exp(2.5 + 0.8 * latent + rng.normal(0, 0.2, n)))
    opportunity = leads["lead_id"].isin(conversions.loc[conversions["stage"] == "opportunity", "lead_id"]).to_numpy()
    won = _won(leads, conversions)
    quality = np.where(
        won, choice(rng, ["hot", "qualified"], [0.8, 0.2], n), choice(rng, ["qualified", "cold"], [0.3, 0.7], n)
    )
    return pd.DataFrame(
        {
            "budget_band": np.where(rng.random(n) < 0.75, budget, None),
            "crm_used": np.where(rng.random(n) < 0.85, crm, None),
            "employees_in_it": pd.array(np.where(rng.random(n) < 0.7, in_it, np.nan), dtype="Int64"),
            "lead_quality": np.where(opportunity, quality, None),
            "call_duration_sec": pd.array(
                np.where(opportunity, np.round(rng.gamma(2.0, 400.0, n) * (1 + won)), np.nan), dtype="Int64"
            ),
        }
    )


def draw_conversions(
    rng: np.random.Generator, leads: pd.DataFrame, propensity: np.ndarray, end: datetime
) -> pd.DataFrame:
    n = len(leads)
    is_opportunity = rng.random(n) < 0.45 * propensity
    won = is_opportunity & (rng.random(n) < 0.25 + 0.5 * propensity)
    lost = is_opportunity & ~won & (rng.random(n) < 0.6)
    created = pd.to_datetime(leads["created_at"], utc=True).dt.tz_localize(None)
    age_days = (end - created).dt.total_seconds().to_numpy() / 86_400
    opportunity_at = created + pd.to_timedelta(age_days * rng.uniform(0.3, 0.8, n), unit="D")
    closed_at = opportunity_at + pd.to_timedelta(age_days * rng.uniform(0.0, 0.2, n), unit="D")
    amount = np.round(rng.lognormal(10.0, 0.8, n), -2)

    def rows(mask: np.ndarray, stage: str, when: pd.Series, with_amount: bool) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "lead_id": leads["lead_id"].to_numpy()[mask],
                "stage": stage,
                "occurred_at": when[mask].dt.floor("s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy(),
                "amount": amount[mask] if with_amount else None,
            }
        )

    return pd.concat(
        [
            rows(is_opportunity, "opportunity", opportunity_at, True),
            rows(won, "closed_won", closed_at, True),
            rows(lost, "closed_lost", closed_at, False),
        ],
        ignore_index=True,
    ).sort_values(["lead_id", "occurred_at"], kind="stable")
