"""Which date "today" is, for a run that is not told its as_of date.

One clock for all of them: the nightly schedule fires in the settings' time zone
(`LEADOPS_TIMEZONE`), so the sensor's intra-day runs and `leadops run` without `--as-of` take
today's date in the same zone. In a zone east of UTC, a sensor run on UTC's date would score as of
the day before the nightly run and rebuild every carried model as a run back in time.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo


def today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()
