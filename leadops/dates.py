"""Which date "today" is, for a run that is not told its as_of date.

One clock for all of them: the nightly schedule fires in `LEADOPS_TIMEZONE`, so the sensor's
intra-day runs and `leadops run` without `--as-of` take today's date in the same zone. In a zone
east of UTC, a sensor run on UTC's date would score as of the day before the nightly run and
rebuild every carried model as a run back in time.
"""

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIMEZONE_ENV = "LEADOPS_TIMEZONE"


def timezone_name() -> str:
    name = os.environ.get(TIMEZONE_ENV, "UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{TIMEZONE_ENV}={name!r} is not a time zone: use a name like UTC or Europe/Berlin") from None
    return name


def today() -> date:
    return datetime.now(ZoneInfo(timezone_name())).date()
