"""The Content-Disposition header of every download, for any file name.

HTTP headers are Latin-1; a design named "中文" cannot go into `filename="..."` as it is.
RFC 6266 / RFC 5987: `filename*=UTF-8''<percent-encoded>` carries the real name, and
`filename="..."` an ASCII stand-in for clients that ignore `filename*`.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def attachment(filename: str, fallback: str) -> dict[str, str]:
    """Headers for a download named `filename` (any Unicode; path separators and control
    characters are dropped, so the name never points elsewhere). `fallback` (ASCII) stands in
    when the name keeps nothing ASCII but its extension."""
    name = "".join(c for c in filename if c.isprintable() and c not in '/\\"').strip(". ")[:200] or fallback
    stem = name.rpartition(".")[0] or name
    ascii_name = _UNSAFE.sub("_", name).strip("_") if _UNSAFE.sub("", stem) else fallback
    encoded = quote(name, safe="", encoding="utf-8", errors="replace")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"}
