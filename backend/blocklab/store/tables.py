"""Every table of the app, registered on the shared metadata (store.metadata)."""

from blocklab.runs import sweep_store as sweeps  # noqa: F401
from blocklab.runs import tables as runs  # noqa: F401
from blocklab.store import designs  # noqa: F401
from blocklab.store.metadata import metadata

__all__ = ["metadata"]
