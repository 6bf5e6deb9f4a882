"""Write the server's catalogs as JSON test fixtures for the front end's unit tests.

Run from frontend/: PYTHONPATH=../backend ../.venv/bin/python scripts/gen_fixtures.py
(npm run gen:fixtures). The tests then see what GET /api/blocks, /api/options and
/api/datasets really answer, not a made-up catalog.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from blocklab.app import create_app
from blocklab.settings import Settings

OUT = Path(__file__).resolve().parents[1] / "src" / "api" / "fixtures"
ROUTES = {"blocks": "/api/blocks", "options": "/api/options", "datasets": "/api/datasets", "templates": "/api/templates"}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, TestClient(create_app(Settings(data_dir=Path(tmp) / "data"))) as c:
        for name, route in ROUTES.items():
            r = c.get(route)
            if r.status_code == 404:
                print(f"{route}: not served (yet), skipped", file=sys.stderr)
                continue
            r.raise_for_status()
            (OUT / f"{name}.json").write_text(json.dumps(r.json(), indent=1, sort_keys=True) + "\n")
            print(f"{route} -> {OUT / f'{name}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
