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


def _load_doc(path: str):
    from pydantic import ValidationError

    from blocklab.graph.document import GraphDoc

    try:
        return GraphDoc.model_validate_json(Path(path).read_bytes())
    except (OSError, ValidationError) as e:
        raise SystemExit(f"{path}: not a graph document: {e}") from None


def _validate(args) -> int:
    from blocklab.graph.analyze import analyze

    report = analyze(_load_doc(args.design)).report()
    for e in report["errors"]:
        where = e.get("path") or e["node"] or "design"
        field = f" [{e['field']}]" if e["field"] else ""
        print(f"{e.get('severity', 'error')}: {where}{field}: {e['message']}")
    if report["ok"]:
        for node, info in report["nodes"].items():
            shared = f"  (shared with '{info['shared_with']}')" if info.get("shared_with") else ""
            print(f"  {node:<20} {str(info['output_shape']):<20} {info['params']:>12,} params{shared}")
        print(f"ok: {report['total_params']:,} parameters")
    return 0 if report["ok"] else 1


def _export(args) -> int:
    from blocklab.graph.build import GraphInvalid, source_for

    try:
        src = source_for(_load_doc(args.design))
    except GraphInvalid as e:
        for err in e.errors:
            print(f"error: {err['node'] or 'design'}: {err['message']}", file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_text(src)
    else:
        sys.stdout.write(src)
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

    v = sub.add_parser("validate", help="check a design file and print its errors per node")
    v.add_argument("design")
    v.set_defaults(fn=_validate)

    e = sub.add_parser("export", help="write standalone PyTorch source for a design")
    e.add_argument("design")
    e.add_argument("-o", "--output", help="file to write (default: stdout)")
    e.set_defaults(fn=_export)

    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
