"""The destination a deployment's settings name, built with its credentials; the one place the
sync reads them. A CRM whose credentials are missing is refused with what to set."""

from __future__ import annotations

from leadops.settings import Settings
from leadops.sync.destination import Destination, DestinationError
from leadops.sync.settings import SyncConfig

DESTINATIONS = ("hubspot", "salesforce")
SETUP = "docs/scores-in-your-crm.md"


def destination_for(name: str, settings: Settings, config: SyncConfig) -> Destination:
    if name == "hubspot":
        if not settings.hubspot_token:
            raise DestinationError(f"LEADOPS_HUBSPOT_TOKEN is not set: create a HubSpot private app ({SETUP})")
        from leadops.sync.hubspot import HubSpotDestination

        return HubSpotDestination(
            settings.hubspot_token,
            settings.hubspot_base_url,
            group=config.hubspot.property_group,
            requests_per_10_seconds=config.hubspot.requests_per_10_seconds,
        )
    if name == "salesforce":
        if name not in settings.sync_destinations:
            raise DestinationError(
                "set LEADOPS_SALESFORCE_INSTANCE_URL and either LEADOPS_SALESFORCE_ACCESS_TOKEN or "
                f"LEADOPS_SALESFORCE_CLIENT_ID and LEADOPS_SALESFORCE_CLIENT_SECRET ({SETUP})"
            )
        from leadops.sync.salesforce import SalesforceDestination

        return SalesforceDestination(
            settings.salesforce_instance_url,
            access_token=settings.salesforce_access_token,
            client_id=settings.salesforce_client_id,
            client_secret=settings.salesforce_client_secret,
            api_version=settings.salesforce_api_version,
            bulk_above=config.salesforce.bulk_above,
        )
    raise DestinationError(f"unknown destination {name!r}: one of {', '.join(DESTINATIONS)}")
