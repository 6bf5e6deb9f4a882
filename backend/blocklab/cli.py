"""The `blocklab` console script."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _serve(args) -> int:
    import uvicorn

    from blocklab.app import create_app
    from blocklab.settings import Settings

    settings = Settings() if args.data_dir is None else Settings(data_dir=Path(args.data_dir))
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _openapi(args) -> int:
    from blocklab.app import create_app
    from blocklab.settings import Settings

    spec = json.dumps(create_app(Settings(database_url="sqlite://")).openapi(), indent=1)
    if args.output:
        Path(args.output).write_text(spec + "\n")
    else:
        print(spec)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="blocklab", description="Visual neural-network designer")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="run the web app")
    s.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--data-dir", default=None, help="holds the SQLite database and run files (default: ./data)")
    s.set_defaults(fn=_serve)

    o = sub.add_parser("openapi", help="print the OpenAPI schema (the front end generates its types from it)")
    o.add_argument("-o", "--output")
    o.set_defaults(fn=_openapi)

    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
