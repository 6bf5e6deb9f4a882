"""Every table of the app, registered on the shared metadata."""

from blocklab.store import designs  # noqa: F401
