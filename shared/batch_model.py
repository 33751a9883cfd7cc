"""`medtriage analyze` with the text model (MEDTRIAGE_PIPELINE=model-text): the lines go to
the model pipeline in batches of MEDTRIAGE_MODEL_BATCH_SIZE (`ModelPipeline.analyze_many`:
one padded batch in process, concurrent requests to a server), and come out one JSON line
per input line, in input order, as in the engine-only batch (shared.batch). A bad line is
its own error line; a model that fails leaves the engine's result, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol, TextIO

from pydantic import ValidationError

from shared.batch import BatchSummary, _message
from shared.batch_images import IMAGE_FIELDS
from shared.schemas import CaseIn, TriageResult

IMAGES_NOT_READ = "not read: image files go through `medtriage analyze` without the text model"


class ManyCases(Protocol):
    def analyze_many(self, cases: list[CaseIn]) -> list[TriageResult]: ...


def analyze_lines_with_model(
    rows: Iterator[tuple[int, Any]], out: TextIO, pipeline: ManyCases, batch_size: int
) -> Iterator[BatchSummary]:
    """Write one output line per input line; yield the running summary after each."""
    summary = BatchSummary()
    chunk: list[tuple[dict[str, Any], CaseIn | None]] = []
    for number, row in rows:
        summary.lines += 1
        record: dict[str, Any] = {"line": number}
        case = None
        try:
            if isinstance(row, Exception):
                raise row
            images = [row.pop(k) for k in IMAGE_FIELDS if k in row] if isinstance(row, dict) else []
            if any(images):
                record["images"] = IMAGES_NOT_READ
            case = CaseIn.model_validate(row)
        except (ValidationError, ValueError) as exc:
            record["error"] = _message(exc)
            summary.errors += 1
        chunk.append((record, case))
        if sum(c is not None for _, c in chunk) >= max(batch_size, 1):
            yield from _flush(chunk, out, pipeline, summary)
            chunk = []
    yield from _flush(chunk, out, pipeline, summary)


def _flush(
    chunk: list[tuple[dict[str, Any], CaseIn | None]],
    out: TextIO,
    pipeline: ManyCases,
    summary: BatchSummary,
) -> Iterator[BatchSummary]:
    cases = [case for _, case in chunk if case is not None]
    results = iter(pipeline.analyze_many(cases) if cases else [])
    for record, case in chunk:
        if case is not None:
            result = next(results)
            record.update(
                patient_ref=case.patient_ref,
                acuity=int(result.acuity),
                result=result.model_dump(mode="json"),
            )
            summary.acuity[result.acuity] += 1
        out.write(json.dumps(record) + "\n")
        yield summary
