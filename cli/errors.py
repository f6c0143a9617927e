"""The one error the commands raise for the user to fix."""


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""
