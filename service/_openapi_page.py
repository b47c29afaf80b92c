"""The API reference page's content, read off the OpenAPI description. The page
used to be Swagger UI from a CDN: it needed the internet, ran third-party script
with the reader's cookie, and could not live under the pages' CSP. This is the
same description as a plain table of operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    where: str
    required: bool
    kind: str
    description: str


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    tag: str
    summary: str
    description: str
    parameters: list[Parameter]
    body: str | None
    responses: list[tuple[str, str]]


def operations(schema: dict[str, Any]) -> list[Operation]:
    """Every operation of `schema`, in the order it lists paths and methods."""
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is not None:
                found.append(_operation(method, path, op))
    return found


def _operation(method: str, path: str, op: dict[str, Any]) -> Operation:
    content = op.get("requestBody", {}).get("content", {})
    return Operation(
        method=method.upper(),
        path=path,
        tag=", ".join(op.get("tags", [])),
        summary=op.get("summary", ""),
        description=op.get("description", ""),
        parameters=[
            Parameter(
                p["name"],
                p.get("in", ""),
                bool(p.get("required")),
                _kind(p.get("schema", {})),
                p.get("description", ""),
            )
            for p in op.get("parameters", [])
        ],
        body=", ".join(f"{media}: {_kind(c.get('schema', {}))}" for media, c in content.items())
        or None,
        responses=[
            (str(code), answer.get("description", "")) for code, answer in op["responses"].items()
        ],
    )


def _kind(schema: dict[str, Any]) -> str:
    """A schema in a few words: its type, its $ref's name, or its alternatives."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_kind(s) for s in schema[key])
    if schema.get("type") == "array":
        return f"list of {_kind(schema.get('items', {}))}"
    if "title" in schema and schema.get("type") == "object":
        return str(schema["title"])
    return str(schema.get("type", "any"))
