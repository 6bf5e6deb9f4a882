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


def _train(args) -> int:
    """The server's own worker (runs.worker.execute), with a progress bar instead of a stream."""
    import tempfile

    from pydantic import ValidationError

    from blocklab.data import UnknownDataset, get_kind
    from blocklab.graph.analyze import Limits
    from blocklab.runs import checkpoints
    from blocklab.runs.plan import PlanError, RunCreate, prepare
    from blocklab.runs.worker import execute
    from blocklab.train.losses import usual

    doc = _load_doc(args.design)
    data_dir = Path(args.data_dir)
    try:
        dparams = json.loads(args.dataset_params)
        loss = args.loss
        if loss is None:  # the usual loss for the dataset's task
            kind = get_kind(args.dataset, data_dir)
            loss = usual(kind.info(kind.params.model_validate(dparams)).task).name
        # Only what was given: the server's defaults (train/config.py) fill in the rest.
        optimizer = json.loads(args.optimizer_params) | ({"name": args.optimizer} if args.optimizer else {})
        if args.lr is not None:
            optimizer["lr"] = args.lr
        given = {"epochs": args.epochs, "batch_size": args.batch_size, "device": args.device, "seed": args.seed,
                 "schedule": json.loads(args.schedule) if args.schedule else None}
        body = RunCreate.model_validate({
            "graph": doc.model_dump(mode="json"), "dataset": {"name": args.dataset, "params": dparams}, "loss": loss,
            "optimizer": optimizer, **{k: v for k, v in given.items() if v is not None},
        })
        plan = prepare(body, doc, Limits(), data_dir)
    except (ValueError, TypeError, ValidationError, UnknownDataset) as e:
        raise SystemExit(f"cannot train: {e}") from None
    except PlanError as e:
        for err in e.errors:
            print(f"error: {err.get('node') or err.get('field') or 'design'}: {err['message']}", file=sys.stderr)
        return 1

    epochs = plan.cfg.epochs
    total = {"steps": None}
    stop = {"now": False}

    def emit(kind: str, ev: dict) -> None:
        if kind == "start":
            total["steps"] = ev["steps_per_epoch"] * max(1, ev["epochs"])
        elif kind == "step" and total["steps"] and sys.stdout.isatty():  # a bar only on a terminal
            done = ev["step"] / total["steps"]
            bar = "#" * int(30 * done) + "-" * (30 - int(30 * done))
            print(f"\repoch {ev['epoch']}/{epochs} [{bar}] {done:4.0%} loss {ev['loss']:.4f}", end="", flush=True)
        elif kind == "epoch":
            acc = f" val_acc {ev['val_accuracy']:.3f}" if ev.get("val_accuracy") is not None else ""
            val = f"{ev['val_loss']:.4f}" if ev.get("val_loss") is not None else "-"
            print(f"\repoch {ev['epoch']}/{epochs} train {ev['train_loss'] or 0:.4f} val {val}{acc}" + " " * 20)

    with tempfile.TemporaryDirectory() as tmp:
        try:
            outcome = execute(plan, lambda: stop["now"], emit, Path(tmp))
        except KeyboardInterrupt:
            stop["now"] = True
            raise
        print(f"{outcome.status}" + (f": {outcome.error}" if outcome.error else ""))
        last = Path(tmp) / "last.safetensors"
        if args.out and last.exists():
            out = Path(args.out)
            data = checkpoints.as_pt(checkpoints.read(last)) if out.suffix == ".pt" else last.read_bytes()
            out.write_bytes(data)
            print(f"weights: {out} (load into Model() from `blocklab export`)")
    return 0 if outcome.status == "completed" else 1


def _tensorboard(args) -> int:
    from blocklab.runs.tensorboard import serve

    return serve(Path(args.data_dir), args.host, args.port)


def main(argv: list[str] | None = None) -> int:
    from typing import get_args

    from blocklab.train.config import TrainConfig
    from blocklab.train.losses import LOSSES
    from blocklab.train.optimizers import OPTIMIZERS
    from blocklab.train.schedules import SCHEDULES

    # Defaults are the server's (train/config.py): shown here, left out of the body when not given.
    lr, fields = OPTIMIZERS.default_spec().lr, TrainConfig.model_fields
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

    t = sub.add_parser("train", help="train a design on a dataset, with the server's own trainer")
    t.add_argument("design")
    t.add_argument("--dataset", required=True, help="a built-in dataset (moons, digits, ...) or an uploaded CSV's name")
    t.add_argument("--dataset-params", default="{}", help='JSON, e.g. \'{"n": 2000}\'')
    t.add_argument("--loss", choices=list(LOSSES), help="default: the usual loss for the dataset's task ("
                   + ", ".join(f"{l.task}: {l.name}" for l in LOSSES.values() if l.usual) + ")")
    t.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"default: {OPTIMIZERS.default}")
    t.add_argument("--optimizer-params", default="{}", help='JSON, e.g. \'{"momentum": 0.9}\'')
    t.add_argument("--lr", type=float, default=None, help=f"learning rate (default: {lr})")
    t.add_argument("--schedule", help='JSON, e.g. \'{"name": "cosine", "min_lr": 0.0001}\' (one of: '
                   + ", ".join(SCHEDULES) + ")")
    t.add_argument("--epochs", type=int, help=f"default: {fields['epochs'].default}")
    t.add_argument("--batch-size", type=int, help=f"default: {fields['batch_size'].default}")
    t.add_argument("--device", choices=get_args(fields["device"].annotation), help=f"default: {fields['device'].default}")
    t.add_argument("--seed", type=int, help=f"default: {fields['seed'].default}")
    t.add_argument("--data-dir", default="data", help="where uploaded CSV datasets live")
    t.add_argument("--out", help="write the trained weights here (.safetensors or .pt)")
    t.set_defaults(fn=_train)

    e = sub.add_parser("export", help="write standalone PyTorch source for a design")
    e.add_argument("design")
    e.add_argument("-o", "--output", help="file to write (default: stdout)")
    e.set_defaults(fn=_export)

    b = sub.add_parser("tensorboard", help="open TensorBoard on every run's event files")
    b.add_argument("--data-dir", default="data", help="the server's data dir (runs/<id>/tensorboard)")
    b.add_argument("--host", default="127.0.0.1")
    b.add_argument("--port", type=int, default=6006)
    b.set_defaults(fn=_tensorboard)

    __import__("blocklab.importers.cli").importers.cli.register(sub)  # `blocklab import`, in its own module
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
