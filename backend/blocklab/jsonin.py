"""JSON text entering the app, checked in one place before anything else sees it.

Every JSON request body (middleware.BodyGuard) and every JSON-valued query or form field
(`samples?params=`, the `graph` field of POST /api/weights) goes through `loads`:
- nesting deeper than MAX_DEPTH is refused (json.loads itself only stops at the interpreter's
  recursion limit, and code further on would hit it later, as a 500);
- text that is not valid Unicode is refused: a lone surrogate ("\\ud800") decodes into a
  Python str that can be stored but never encoded again, so every later read would fail.

A refusal is a BadJson naming where: `path` is the keys and indexes down to the bad value.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_DEPTH = 100  # far beyond any graph document or request (shapes, params, predict batches)

# A surrogate, escaped (\ud800, JSON's only way to write one in ASCII) or raw (UTF-8 bytes
# ED A0..BF, which json.loads of bytes lets through): a cheap test before walking the value.
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
# For the nesting depth without parsing: strings out, then everything but brackets.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


class BadJson(ValueError):
    """`kind` is json_invalid, json_too_deep or string_unicode; `path` locates the value."""

    def __init__(self, kind: str, message: str, path: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path

    def field(self, name: str) -> str:
        """The dotted field name, e.g. graph.nodes.0.position."""
        return ".".join([name, *map(str, self.path)])


def loads(text: str | bytes) -> Any:
    """json.loads, refusing malformed JSON, nesting deeper than MAX_DEPTH and invalid text."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise BadJson("json_too_deep", f"the JSON is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8
        raise BadJson("json_invalid", f"not valid JSON: {str(e)[:200]}") from None
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    surrogates = _might_have_surrogates(raw)
    if surrogates or depth(raw) > MAX_DEPTH:
        check(value, surrogates)  # walks the value to name where
    return value


def check_body(body: bytes) -> None:
    """For a request body: BadJson when it nests too deep or holds invalid text. Cheap when
    it does not (a scan of the bytes, no parse); malformed JSON is left to the framework."""
    surrogates = _might_have_surrogates(body)
    if not surrogates and depth(body) <= MAX_DEPTH:
        return
    try:
        value = json.loads(body)
    except RecursionError:
        raise BadJson("json_too_deep", f"the JSON is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        return
    check(value, surrogates)


def depth(raw: bytes) -> int:
    """How deep the brackets of JSON text nest, outside its strings (vectorized: a 16 MB body
    takes milliseconds)."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    if not brackets:
        return 0
    b = np.frombuffer(brackets, np.uint8)
    return int(np.cumsum(np.where((b == ord("[")) | (b == ord("{")), 1, -1)).max())


def check(value: Any, strings: bool = True) -> None:
    """Walk `value` without recursion: depth at most MAX_DEPTH; with `strings`, every key and
    string encodable as UTF-8. Raises BadJson at the first problem."""
    stack: list[tuple[Any, tuple, int]] = [(value, (), 0)]
    while stack:
        v, path, depth = stack.pop()
        if isinstance(v, dict):
            items = v.items()
        elif isinstance(v, list):
            items = enumerate(v)
        else:
            if strings and isinstance(v, str):
                _text(v, path)
            continue
        if depth >= MAX_DEPTH:
            raise BadJson("json_too_deep", f"the JSON is nested deeper than {MAX_DEPTH} levels", path)
        for k, child in items:
            if strings and isinstance(k, str):
                _text(k, (*path, k))
            if isinstance(child, (dict, list)) or (strings and isinstance(child, str)):
                stack.append((child, (*path, k), depth + 1))


def _text(s: str, path: tuple) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        # The path may run through the bad key itself: name it escaped, never echo it raw.
        where = tuple(p.encode("utf-8", "backslashreplace").decode() if isinstance(p, str) else p for p in path)
        raise BadJson("string_unicode", f"the text holds {s[e.start]!a}, a lone surrogate, which is not valid "
                                        f"Unicode (a JSON string must encode to UTF-8)", where) from None


def _might_have_surrogates(raw: bytes) -> bool:
    return _SURROGATE_BYTES.search(raw) is not None
