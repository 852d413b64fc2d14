"""An uploaded import file: the ``file`` part and the form's fields, refused past the size limit
as it arrives, not after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from shared.http.problems import Problem
from shared.tabular.reader import FileKind

_MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file
PROBLEMS = "https://xingcun.example/problems/"


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes
    fields: dict[str, str]  # the form's other fields (e.g. batch_id, dry_run)


async def received(kind: FileKind, request: Request) -> Upload:
    limit = kind.max_bytes + _MULTIPART_OVERHEAD
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise _upload_problem(kind, f"send multipart/form-data with {kind.part} in the field 'file'")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(kind)

    async def bounded() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large(kind)
            yield chunk

    try:
        form = await MultiPartParser(request.headers, bounded(), max_files=1, max_fields=10).parse()
    except MultiPartException as exc:
        raise _upload_problem(kind, f"the multipart body cannot be read: {exc.message}") from None
    try:
        upload = form.get("file")
        if upload is None:
            raise _upload_problem(kind, f"{kind.part} is missing: send it in the multipart field 'file'")
        if not isinstance(upload, UploadFile):
            raise _upload_problem(
                kind, f"send {kind.part} as a file, with its file name, in the field 'file'"
            )
        data = await upload.read(kind.max_bytes + 1)
        if len(data) > kind.max_bytes:
            raise _too_large(kind)
        fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
        return Upload(upload.filename or "", upload.content_type or "", data, fields)
    finally:
        await form.close()


def _too_large(kind: FileKind) -> Problem:
    return Problem(
        413,
        f"{kind.title} size limit",
        f"{kind.noun} has at most {kind.max_bytes // (1024 * 1024)} MB: split it",
        type_=PROBLEMS + f"{kind.rule}_size_limit",
        extra={"rule": f"{kind.rule}_size_limit"},
    )


def _upload_problem(kind: FileKind, detail: str) -> Problem:
    return Problem(
        400,
        f"{kind.title} upload",
        detail,
        type_=PROBLEMS + f"{kind.rule}_upload",
        extra={"rule": f"{kind.rule}_upload"},
    )


def multipart_body(
    kind: FileKind, note: str = "", fields: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The OpenAPI request body of an upload (``openapi_extra``): the ``file`` and the form's fields."""
    described = f".xlsx, or .csv in UTF-8; at most {kind.max_bytes // 2**20} MB{note}"
    properties = {"file": {"type": "string", "format": "binary", "description": described}, **(fields or {})}
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}
