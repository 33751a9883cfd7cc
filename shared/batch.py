"""Batch analysis for retrospective chart review: CaseIn lines in, ClinicalTextOutput out.

Runs in process (no queue, no database). A bad line gets its own error line in the output
and on the summary, and the batch goes on. A line may name image files (`image_paths`; see
shared.batch_images): graded in process, and read by the image+text model when configured.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from shared.batch_images import IMAGE_FIELDS, BatchImages, image_paths
from shared.pipelines.text import analyze_case_text
from shared.schemas import Acuity, CaseIn, VitalSigns

VITAL_FIELDS = set(VitalSigns.model_fields)


@dataclass
class BatchSummary:
    acuity: Counter[Acuity] = field(default_factory=Counter)
    errors: int = 0
    lines: int = 0
    image_errors: int = 0

    def table(self) -> list[str]:
        """Cases per acuity level 1-5 with the seed's risk level beside it, then errors."""
        lines = [f"{'acuity':<18}{'risk':<8}{'cases':>7}"]
        for level in Acuity:
            lines.append(f"{level.label:<18}{level.risk_level.value:<8}{self.acuity[level]:>7}")
        lines.append(f"{'errors':<26}{self.errors:>7}")
        lines.append(f"{'image errors':<26}{self.image_errors:>7}")
        return lines


def read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})")


def parse_mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    """'age_years=Age' pairs: a CaseIn field (or vital sign) from a CSV column; 'image=Col'
    for a column of image paths (several separated by ';'), 'image_type=Col' for their type."""
    mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name = "image_paths" if name == "image" else name
        if not sep or not column:
            raise ValueError(f"mapping {pair!r}: write FIELD=COLUMN")
        known = (*CaseIn.model_fields, *VITAL_FIELDS, *IMAGE_FIELDS)
        if name not in known:
            raise ValueError(f"mapping {pair!r}: {name!r} is not a case field or vital sign")
        mapping[name] = column
    return mapping


def read_csv(path: Path, mapping: dict[str, str]) -> Iterator[tuple[int, Any]]:
    """Rows as CaseIn-shaped dicts; unmapped fields use their column of the same name."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        missing = [c for c in mapping.values() if c not in columns]
        if missing:
            raise ValueError(f"columns not in the CSV header: {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):
            case: dict[str, Any] = {"vitals": {}}
            for name in [*CaseIn.model_fields, *VITAL_FIELDS, *IMAGE_FIELDS]:
                column = mapping.get(name, name)
                value = (row.get(column) or "").strip()
                if name == "vitals" or column not in columns or value == "":
                    continue
                (case["vitals"] if name in VITAL_FIELDS else case)[name] = value
            yield number, case


def analyze_lines(
    rows: Iterator[tuple[int, Any]], out: TextIO, images: BatchImages | None = None
) -> Iterator[BatchSummary]:
    """Write one output line per input line; yield the running summary after each."""
    summary = BatchSummary()
    for number, row in rows:
        summary.lines += 1
        record: dict[str, Any] = {"line": number}
        try:
            if isinstance(row, Exception):
                raise row
            extra = (
                {k: row.pop(k) for k in IMAGE_FIELDS if k in row} if isinstance(row, dict) else {}
            )
            paths = image_paths(extra["image_paths"]) if "image_paths" in extra else []
            case = CaseIn.model_validate(row)
            result = analyze_case_text(case)
            record.update(patient_ref=case.patient_ref, result=result.model_dump(mode="json"))
            acuity = result.assessment.acuity
            if paths:
                if images is None:
                    from shared.config import get_settings

                    images = BatchImages(get_settings(), Path.cwd())
                kind = str(extra.get("image_type") or "other")
                read = images.analyze(paths, kind, case, result)
                record["images"] = read.entries
                if read.image_text is not None:
                    record["image_text"] = read.image_text
                summary.image_errors += read.errors
                if read.applied_acuity is not None:
                    acuity = Acuity.most_urgent(acuity, Acuity(read.applied_acuity))
                record["acuity"] = int(acuity)
            summary.acuity[acuity] += 1
        except (ValidationError, ValueError) as exc:
            record["error"] = _message(exc)
            summary.errors += 1
        out.write(json.dumps(record) + "\n")
        yield summary


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)
