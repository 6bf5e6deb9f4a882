"""GET /api/datasets (built-in and uploaded, with params schema and shapes) and
POST /api/datasets (upload a CSV as a regression or classification dataset, or images: data.image_upload)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from blocklab import jsonin
from blocklab.api.errors import invalid, problem, responses
from blocklab.data import (BUILTIN, DatasetKind, UnknownDataset, all_kinds, csv_upload, data_bytes, get_kind,
                           image_upload, load)
from blocklab.graph.memory import fmt_bytes

router = APIRouter(tags=["datasets"])


class DatasetInfo(BaseModel):
    name: str
    title: str
    doc: str
    task: Literal["regression", "classification"]
    tags: list[str]
    params_schema: dict[str, Any]
    input_shape: list[int]  # with the default params
    target_shape: list[int]
    n_classes: int | None = None
    classes: list[str] | None = None
    uploaded: bool = False


def _info(k: DatasetKind) -> dict:
    i = k.info(k.params())
    return {
        "name": k.name, "title": k.title, "doc": k.doc, "task": i.task, "tags": list(k.tags),
        "params_schema": k.params.model_json_schema(), "input_shape": list(i.input_shape),
        "target_shape": list(i.target_shape), "n_classes": i.n_classes, "classes": i.classes,
        "uploaded": k.name not in BUILTIN,
    }


@router.get("/datasets", response_model=list[DatasetInfo])
def list_datasets(request: Request) -> list[dict]:
    return [_info(k) for k in all_kinds(request.app.state.settings.data_dir)]


class Samples(BaseModel):
    """A slice of a dataset, for plotting points over a decision boundary or trying inference."""

    split: Literal["train", "val"]
    total: int  # samples in the split
    input_shape: list[int]
    task: Literal["regression", "classification"]
    classes: list[str] | None = None
    inputs: list[Any]
    targets: list[Any]


@router.get("/datasets/{name}/samples", response_model=Samples, responses=responses(404, 422))
def dataset_samples(
    request: Request,
    name: str,
    split: Annotated[Literal["train", "val"], Query()] = "val",
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    params: Annotated[str, Query(max_length=20_000, description="the dataset params as JSON")] = "{}",
) -> dict:
    settings = request.app.state.settings
    try:
        kind = get_kind(name, settings.data_dir)
    except UnknownDataset as e:
        raise HTTPException(404, str(e)) from None
    p = _params(kind, params)
    # The same bound a run's memory has: no request generates data a run could not hold.
    need = data_bytes(kind, p)
    if need > settings.max_train_bytes:
        raise invalid("bad dataset params", [problem("params.n", (
            f"dataset '{kind.name}' with these params holds about {fmt_bytes(need)}; the limit is "
            f"{fmt_bytes(settings.max_train_bytes)} (BLOCKLAB_MAX_TRAIN_BYTES): lower n, n_val or the features"))])
    data = load(kind, p)
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_val, data.y_val)
    step = max(1, len(x) // limit)  # an even spread over the split, not just its head
    info = data.info
    return {"split": split, "total": len(x), "input_shape": list(info.input_shape), "task": info.task,
            "classes": info.classes, "inputs": x[::step][:limit].tolist(), "targets": y[::step][:limit].tolist()}


def _params(kind: DatasetKind, text: str):
    """?params= (JSON text, through the shared parser) as the kind's validated params; each
    error names its field (params.n, ...)."""
    try:
        value = jsonin.loads(text)
    except jsonin.BadJson as e:
        raise invalid("bad dataset params", [problem(e.field("params"), e.message)]) from None
    if not isinstance(value, dict):
        raise invalid("bad dataset params", [problem("params", "params must be a JSON object")])
    try:
        return kind.params.model_validate(value)
    except ValidationError as e:
        errors = [problem(".".join(["params", *map(str, d["loc"])]), d["msg"]) for d in e.errors()]
        raise invalid("bad dataset params", errors) from None


def _bad(field: str, message: str) -> HTTPException:
    return invalid("the CSV cannot be used", [problem(field, message)])


@router.post("/datasets", status_code=201, response_model=DatasetInfo, responses=responses(409, 413, 422))
async def upload_csv(
    request: Request,
    file: Annotated[UploadFile, File(description="a CSV file with a header row, a zip of image class folders "
                                                 "(train/<class>/*.png, optional val/) or an .npz with x and y")],
    target: Annotated[str | None, Form(min_length=1, max_length=200, description="the column to predict (CSV only)")] = None,
    name: Annotated[str | None, Form(max_length=64, description="dataset name (default: from the file name)")] = None,
    task: Annotated[Literal["auto", "regression", "classification"], Form()] = "auto",
    size: Annotated[int | None, Form(ge=1, le=image_upload.LIMITS.max_side,
                                     description="images only: resize to size x size (default: the first image's size)")] = None,
    color: Annotated[image_upload.Color, Form(description="images only: gray, rgb, or auto (gray when every image is)")] = "auto",
) -> dict:
    settings = request.app.state.settings
    raw = await file.read(settings.max_upload_bytes + 1)
    if len(raw) > settings.max_upload_bytes:
        raise _bad("file", f"the file is over {settings.max_upload_bytes:,} bytes")
    stem = (file.filename or "data").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    ds_name = name if name is not None else "".join(c if c.isalnum() or c in "_-" else "_" for c in stem.lower())[:64]
    if not csv_upload.NAME_RE.match(ds_name):
        raise _bad("name", f"'{ds_name}' is not a usable name: lowercase letters, digits, _ and -, starting with a letter or digit")
    if ds_name in BUILTIN:
        raise _bad("name", f"'{ds_name}' is a built-in dataset; choose another name")
    if ds_name in csv_upload.stored(settings.data_dir):
        raise HTTPException(409, f"a dataset named '{ds_name}' exists already")
    if image_upload.accepts(file.filename or "", raw):
        try:
            meta = await run_in_threadpool(image_upload.save, settings.data_dir, ds_name, file.filename or "", raw, size, color)
        except image_upload.ImageError as e:
            raise HTTPException(e.status, {"message": "the images cannot be used",
                                           "errors": [{"node": None, "field": e.field, "message": str(e)}]}) from None
        except FileExistsError:
            raise HTTPException(409, f"a dataset named '{ds_name}' exists already") from None
        return _info(image_upload.kind(settings.data_dir, meta))
    if target is None:
        raise _bad("target", "a CSV upload needs `target`, the column to predict")
    try:
        meta = await run_in_threadpool(csv_upload.save, settings.data_dir, ds_name, target, file.filename or "", raw, task)
    except csv_upload.CsvError as e:
        raise _bad(e.field, str(e)) from None
    except csv_upload.NameTaken as e:  # a concurrent upload of the same name claimed it first
        raise HTTPException(409, str(e)) from None
    return _info(csv_upload.kind(settings.data_dir, meta))
