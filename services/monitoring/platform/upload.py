"""The uploaded survey batch: the ``file`` part and the form's fields, refused past the size limit
as it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from shared.http.problems import Problem

MAX_BYTES = 64 * 1024 * 1024  # 200,000 rows of the layout are about 30 MB as CSV
_MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file
PROBLEMS = "https://xingcun.example/problems/"


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes
    fields: dict[str, str]  # the form's other fields (batch_id, dry_run)


async def received(request: Request) -> Upload:
    """The ``file`` part and the text fields, refused past the size limit while they arrive."""
    limit = MAX_BYTES + _MULTIPART_OVERHEAD
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise _upload_problem("send multipart/form-data with the batch file in the field 'file'")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large()

    async def bounded() -> AsyncIterator[bytes]:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise _too_large()
            yield chunk

    try:
        form = await MultiPartParser(request.headers, bounded(), max_files=1, max_fields=10).parse()
    except MultiPartException as exc:
        raise _upload_problem(f"the multipart body cannot be read: {exc.message}") from None
    try:
        upload = form.get("file")
        if upload is None:
            raise _upload_problem("the batch file is missing: send it in the multipart field 'file'")
        if not isinstance(upload, UploadFile):
            raise _upload_problem("send the batch as a file, with its file name, in the field 'file'")
        data = await upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _too_large()
        fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
        return Upload(upload.filename or "", upload.content_type or "", data, fields)
    finally:
        await form.close()


def _too_large() -> Problem:
    return Problem(
        413,
        "Survey batch size limit",
        f"a survey batch file has at most {MAX_BYTES // (1024 * 1024)} MB: split it",
        type_=PROBLEMS + "survey_size_limit",
        extra={"rule": "survey_size_limit"},
    )


def _upload_problem(detail: str) -> Problem:
    return Problem(
        400, "Survey batch upload", detail, type_=PROBLEMS + "survey_upload", extra={"rule": "survey_upload"}
    )
