"""Images of a case: checked and stored before the case is written (so a refused image leaves
nothing behind), attached with an audit event, analysed by the worker.

No file name, and no DICOM tag outside the technical allow-list, is stored or logged: a file
name is often the patient's name.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared import audit
from shared.db.models import Case, Image, utcnow
from shared.imaging.analysis import analyze_pixels, get_image_encoder
from shared.imaging.decode import Decoded, decode
from shared.imaging.errors import ImageLimits, ImageRejected
from shared.imaging.quality import normalize_image_type
from shared.imaging.schema import SimilarCase
from shared.imaging.store import ImageStore, raw_range, store_for
from shared.imaging.view import get_view_model
from shared.schemas import Acuity

if TYPE_CHECKING:
    from numpy.typing import NDArray

log = logging.getLogger(__name__)

SIMILAR_MIN = 0.80  # cosine similarity below this is not shown as "alike"
SIMILAR_POOL = 5000  # the latest embedded images compared against


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str = ""
    content_type: str = ""
    image_type: str = "other"


@dataclass(frozen=True)
class Prepared:
    """An upload decoded and its pixels stored: ready to attach to a case."""

    sha256: str
    kind: str
    image_type: str
    width: int
    height: int
    bits_stored: int
    distinct_levels: int
    tags: dict[str, Any]
    notes: list[str]
    original_kept: bool


def limits_for(settings: Any) -> ImageLimits:
    return ImageLimits(
        settings.image_max_bytes, settings.image_max_pixels, settings.image_max_count
    )


def prepare(uploads: list[Upload], settings: Any) -> list[Prepared]:
    """Decode and store every upload, or raise ImageRejected for the first bad one."""
    limits = limits_for(settings)
    if len(uploads) > limits.max_count:
        raise ImageRejected(
            413, f"{len(uploads)} images were attached; at most {limits.max_count} per case."
        )
    decoded = []
    for number, upload in enumerate(uploads, 1):
        try:
            decoded.append(decode(upload.data, upload.filename, upload.content_type, limits))
        except ImageRejected as exc:
            prefix = f"Image {number}: " if len(uploads) > 1 else ""
            raise ImageRejected(exc.status, prefix + exc.message) from None
    store = store_for(settings)
    keep = bool(settings.image_keep_original)
    return [_stored(store, d, u, keep) for d, u in zip(decoded, uploads, strict=True)]


def _stored(store: ImageStore, d: Decoded, upload: Upload, keep: bool) -> Prepared:
    sha = store.put(d, upload.data if keep else None)
    tags = dict(d.tags)
    if d.raw is not None:
        tags["raw_range"] = list(raw_range(d.raw))
    height, width = d.display.shape[:2]
    return Prepared(sha, d.kind, normalize_image_type(upload.image_type), int(width),
                    int(height), d.bits_stored, d.distinct_levels, tags, d.notes, keep)  # fmt: skip


def attach(session: Session, case: Case, user_id: int, actor: str, images: list[Prepared]) -> int:
    """Add the stored images to the case (the same pixels twice: once) and commit."""
    known = set(session.scalars(select(Image.sha256).where(Image.case_id == case.id)))
    added = [p for p in dict((p.sha256, p) for p in images).values() if p.sha256 not in known]
    if not added:
        return 0
    for p in added:
        session.add(
            Image(
                public_id=str(uuid.uuid4()), case_id=case.id, sha256=p.sha256, kind=p.kind,
                image_type=p.image_type, width=p.width, height=p.height,
                bits_stored=p.bits_stored, distinct_levels=p.distinct_levels, tags=p.tags,
                notes=p.notes, original_kept=p.original_kept, uploaded_by_id=user_id,
            )
        )  # fmt: skip
    case.updated_at = utcnow()  # the board's fingerprint moves: the row gains its icon
    audit.record(
        session,
        actor=actor,
        action="case.images_attached",
        case_id=case.id,
        detail={
            "images": [
                {"sha256": p.sha256[:16], "kind": p.kind, "image_type": p.image_type} for p in added
            ]
        },
    )
    session.commit()
    return len(added)


def pending(session: Session, case_id: int, encoder_key: str | None) -> list[Image]:
    """Images not yet analysed, or not yet embedded by the configured encoder."""
    rows = session.scalars(select(Image).where(Image.case_id == case_id).order_by(Image.id))
    return [
        i
        for i in rows
        if i.analyzed_at is None or (encoder_key is not None and i.embedding_model != encoder_key)
    ]


def analyze_case_images(sessions: sessionmaker[Session], settings: Any, case_id: int) -> int:
    """The worker's step: quality (and embedding) for each pending image; one commit each.
    A failure is recorded on the image and never fails the case."""
    encoder, note = get_image_encoder(settings)
    store = store_for(settings)
    done = 0
    with sessions() as session:
        for image in pending(session, case_id, encoder.key if encoder else None):
            try:
                _analyze_one(session, store, image, encoder, note, settings)
            except Exception as exc:
                if type(exc).__name__ == "SoftTimeLimitExceeded":
                    raise
                session.rollback()
                log.error("image %s: analysis failed: %s", image.id, type(exc).__name__)
                image.analysis = {"error": f"{type(exc).__name__}: the image could not be analysed"}
                image.analyzed_at = utcnow()
            session.commit()
            done += 1
    return done


def _analyze_one(
    session: Session,
    store: ImageStore,
    image: Image,
    encoder: Any,
    note: str,
    settings: Any,
) -> None:
    display = store.load_display(image.sha256)
    view_model, view_note = get_view_model(settings)
    output, vector = analyze_pixels(
        display, kind=image.kind, image_type=image.image_type, bits_stored=image.bits_stored,
        distinct_levels=image.distinct_levels, tags=image.tags, notes=list(image.notes),
        encoder=encoder, encoder_note=note, image_id=image.public_id,
        view_model=view_model, view_note=view_note,
    )  # fmt: skip
    if vector is not None and settings.image_similar_count > 0:
        output.similar_cases = similar_cases(
            session, image, vector, encoder.key, settings.image_similar_count
        )
    image.quality_verdict = output.quality_verdict
    image.quality = output.quality.model_dump(mode="json")
    image.analysis = output.model_dump(mode="json", exclude={"quality"})
    image.analyzed_at = utcnow()
    if vector is not None:
        image.embedding = vector.astype("<f4").tobytes()
        image.embedding_model = encoder.key


def similar_cases(
    session: Session, image: Image, vector: NDArray[Any], key: str, count: int
) -> list[SimilarCase]:
    """Earlier cases whose images look alike (same encoder), with their final acuity."""
    import numpy as np

    rows = session.execute(
        select(Image.embedding, Image.quality_verdict, Case.public_id, Case.acuity,
               Case.created_at)
        .join(Case, Case.id == Image.case_id)
        .where(Image.embedding_model == key, Image.case_id != image.case_id,
               Image.embedding.is_not(None))
        .order_by(Image.id.desc())
        .limit(SIMILAR_POOL)
    ).all()  # fmt: skip
    if not rows:
        return []
    matrix = np.stack([np.frombuffer(r.embedding, dtype="<f4") for r in rows])
    if matrix.shape[1] != vector.shape[0]:
        return []
    scores = matrix @ vector
    best: dict[str, SimilarCase] = {}
    for index in np.argsort(-scores):
        score = float(scores[index])
        row = rows[int(index)]
        if score < SIMILAR_MIN or len(best) >= count:
            break
        if row.public_id not in best:
            acuity = Acuity(row.acuity)
            best[row.public_id] = SimilarCase(
                case_id=row.public_id, similarity=round(score, 4), acuity=int(acuity),
                acuity_label=acuity.label, seen_at=row.created_at.isoformat(),
                quality_verdict=row.quality_verdict,
            )  # fmt: skip
    return list(best.values())
