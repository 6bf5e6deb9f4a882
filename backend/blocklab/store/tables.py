"""Every table of the app, registered on the shared metadata."""

from blocklab.store import designs  # noqa: F401
from blocklab.runs import tables as _runs  # noqa: F401,E402
from blocklab.runs import sweep_store as _sweeps  # noqa: F401,E402
