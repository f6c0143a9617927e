"""Scores, segments and lists written back into the CRM where sales works (HubSpot, Salesforce)."""
