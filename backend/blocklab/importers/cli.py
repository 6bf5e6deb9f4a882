"""`blocklab import path/to/model.py:ClassName --input-shape 3,224,224 -o design.json`.

It runs the user's own file, on the user's own machine (never on the server), then
traces the module with torch.fx (importers.from_module)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="turn a PyTorch module (model.py:ClassName) into a design, with torch.fx")
    p.add_argument("target", help="path/to/model.py:ClassName (a class or a function returning an nn.Module); "
                   "the file's code runs here")
    p.add_argument("--input-shape", action="append", required=True, metavar="SHAPE",
                   help="one sample's shape without the batch, e.g. 3,224,224; repeat it for several inputs")
    p.add_argument("--kwargs", default="{}", help='JSON for the constructor, e.g. \'{"num_classes": 10}\'')
    p.add_argument("--indices", type=int, metavar="N", help="inputs hold integer indices below N (the model starts "
                   "with an Embedding)")
    p.add_argument("--load", metavar="FILE", help="load this state_dict (.safetensors, or .pt read with "
                   "weights_only=True) into the module first")
    p.add_argument("-o", "--output", required=True, help="the design file to write (JSON)")
    p.add_argument("--weights", metavar="FILE", help="also write the module's state_dict here as safetensors, "
                   "ready for init_weights (POST /api/weights)")
    p.add_argument("--name", help="the design's name (default: the class name)")
    p.set_defaults(fn=run)


def _instantiate(target: str, kwargs_json: str):
    path, sep, name = target.rpartition(":")
    if not sep or not path or not name:
        raise SystemExit(f"{target}: give path/to/model.py:ClassName")
    file = Path(path)
    if not file.is_file():
        raise SystemExit(f"{path}: no such file")
    try:
        kwargs = json.loads(kwargs_json)
    except json.JSONDecodeError as e:
        raise SystemExit(f"--kwargs is not JSON: {e}") from None
    if not isinstance(kwargs, dict):
        raise SystemExit("--kwargs must be a JSON object, e.g. '{\"num_classes\": 10}'")
    sys.path.insert(0, str(file.resolve().parent))  # so the file can import its neighbours
    spec = importlib.util.spec_from_file_location(f"blocklab_user_{file.stem}", file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    factory = getattr(mod, name, None)
    if not callable(factory):
        raise SystemExit(f"{path} has no class or function '{name}'")
    return factory(**kwargs)


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(x) for x in text.replace("x", ",").split(",") if x.strip())
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise SystemExit(f"--input-shape {text!r}: give positive sizes, e.g. 3,224,224")
    return dims


def run(args) -> int:
    import torch
    from torch import nn

    from blocklab.importers import NotImportable, from_module, save_weights

    shapes = [_shape(s) for s in args.input_shape]
    torch.manual_seed(0)
    module = _instantiate(args.target, args.kwargs)
    if not isinstance(module, nn.Module):
        raise SystemExit(f"{args.target} gives a {type(module).__name__}, not an nn.Module")
    if args.load:
        from safetensors.torch import load_file

        sd = load_file(args.load) if args.load.endswith(".safetensors") else torch.load(args.load, weights_only=True)
        module.load_state_dict(sd, strict=True)
    batch = 2
    example = tuple(torch.randint(0, args.indices, (batch, *s)) if args.indices else torch.randn(batch, *s) for s in shapes)
    try:
        doc = from_module(module, example if len(example) > 1 else example[0], name=args.name)
    except NotImportable as e:
        for u in e.unsupported:
            print(f"unsupported: {u['node']}: {u['op']}: {u['reason']}", file=sys.stderr)
        print(f"not imported: {len(e.unsupported)} thing(s) above have no block; nothing was written", file=sys.stderr)
        return 2
    Path(args.output).write_text(json.dumps(doc, indent=1) + "\n")
    n_params = sum(p.numel() for p in module.parameters())
    print(f"{args.output}: {len(doc['nodes'])} nodes, {len(doc['blocks'])} blocks, {n_params:,} parameters")
    if args.weights:
        n = save_weights(Path(args.weights), doc, module)
        print(f"{args.weights}: {n} tensors (upload with POST /api/weights, then init_weights)")
    return 0
