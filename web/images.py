"""Images: reading them from the intake form and the API, and serving them to staff only.

Intake calls `prepare_uploads` before it writes the case (a refused image leaves nothing
behind) and `attach_images` after. Files are served from the instance folder, never from the
web root, with `Cache-Control: no-store`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from shared import audit
from shared.config import Settings
from shared.db import Case
from shared.db.models import Image, Result
from shared.imaging.cases import Prepared, Upload, attach, prepare
from shared.imaging.errors import ImageRejected, ImagingUnavailable
from shared.imaging.schema import IMAGE_DISCLAIMER
from shared.imaging.store import store_for
from shared.pipelines.multimodal import image_text_view
from web import MAX_BODY_BYTES
from web.auth import READERS, current_user, requires
from web.db import get_db
from web.errors import error_response

bp = Blueprint("images", __name__)

UPLOAD_ENDPOINTS = ("intake.new_case", "intake.api_submit")
MULTIPART = "multipart/form-data"


def settings() -> Settings:
    configured: Settings = current_app.config["MEDTRIAGE"]
    return configured


@bp.before_app_request
def _room_for_images() -> None:
    """Intake may carry images: its body limit is the images' (base64 adds a third)."""
    if request.endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        s = settings()
        request.max_content_length = s.image_max_bytes * s.image_max_count * 4 // 3 + 2**20


@bp.app_errorhandler(ImageRejected)
def _rejected(exc: ImageRejected) -> Any:
    return error_response(exc.status, exc.message + " Nothing was saved.")


@bp.app_errorhandler(ImagingUnavailable)
def _unavailable(exc: ImagingUnavailable) -> Any:
    return error_response(415, exc.message)


@bp.app_errorhandler(413)
def _too_large(_exc: Exception) -> Any:
    s = settings()
    return error_response(
        413,
        f"The submission is too large: the case at most {MAX_BODY_BYTES // 1048576} MB, and at "
        f"most {s.image_max_count} images of {s.image_max_bytes / 1048576:.0f} MB each. "
        "Nothing was saved.",
    )


def _file_uploads(image_type: str) -> list[Upload]:
    files = [f for f in request.files.getlist("images") if f.filename or f.content_length]
    return [Upload(f.read(), f.filename or "", f.mimetype or "", image_type) for f in files]


def form_uploads() -> list[Upload]:
    """The intake form's image files (none chosen: none)."""
    return _file_uploads(request.form.get("image_type", "other"))


def case_body() -> tuple[bytes, list[Upload]]:
    """The API's case as JSON bytes and its images: JSON with base64 `images`, or multipart
    with a `case` JSON part and `images` files. The case itself keeps the usual body limit."""
    body, uploads = _case_and_images()
    if len(body) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return body, uploads


def _case_and_images() -> tuple[bytes, list[Upload]]:
    if request.mimetype == MULTIPART:
        case = request.form.get("case")
        if case is None:
            raise BadRequest("Send the case as JSON in a form field named 'case'.")
        return case.encode(), _file_uploads(request.form.get("image_type", "other"))
    if not request.is_json:
        raise UnsupportedMediaType(
            "Send the case as JSON (Content-Type: application/json), or as multipart/form-data "
            "with a 'case' JSON field and 'images' files."
        )
    raw = request.get_data()
    if b'"images"' not in raw:
        return raw, []
    try:
        body = json.loads(raw)
    except ValueError:
        return raw, []  # the schema's own check names the problem
    if not isinstance(body, dict):
        return raw, []
    uploads = _json_uploads(body.pop("images"))
    return json.dumps(body).encode(), uploads


def _json_uploads(items: Any) -> list[Upload]:
    if not isinstance(items, list):
        raise ImageRejected(422, "'images' must be a list of {data, image_type} objects.")
    uploads = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("data"), str):
            raise ImageRejected(422, f"Image {number}: 'data' must be the file in base64.")
        try:
            data = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise ImageRejected(422, f"Image {number}: 'data' is not valid base64.") from None
        kind = item.get("image_type", "other")
        ctype = item.get("content_type", "")
        if not isinstance(kind, str) or not isinstance(ctype, str):
            raise ImageRejected(422, f"Image {number}: image_type and content_type are text.")
        uploads.append(Upload(data, "", ctype, kind))
    return uploads


def prepare_uploads(uploads: list[Upload]) -> list[Prepared]:
    """Decode and store the images before the case is written; raises ImageRejected."""
    return prepare(uploads, settings()) if uploads else []


def attach_images(case: Case, created: bool, prepared: list[Prepared]) -> None:
    """After the case is written and before its task is sent (a replay attaches nothing)."""
    user = current_user()
    if created and prepared and user is not None:
        attach(get_db(), case, user.id, user.username, prepared)


def _image(public_id: str) -> Image:
    image = get_db().query(Image).filter_by(public_id=public_id).one_or_none()
    if image is None:
        abort(404, "No such image.")
    return image


def _png(data: bytes) -> Response:
    response = Response(data, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.get("/images/<public_id>/thumb")
@requires(*READERS)
def thumb(public_id: str) -> Response:
    return _png(store_for(settings()).read(_image(public_id).sha256, "thumb.png"))


@bp.get("/images/<public_id>/full")
@requires(*READERS)
def full(public_id: str) -> Response:
    """The image; a DICOM greyscale image at another window with ?center=&width=."""
    image = _image(public_id)
    user = current_user()
    if user is not None:  # opening an image in full is a read of the case, like its page
        db = get_db()
        detail = {"image": image.public_id, "window": "center" in request.args}
        audit.record(
            db,
            actor=user.username,
            action="case.image_viewed",
            case_id=image.case_id,
            detail=detail,
        )
        db.commit()
    store = store_for(settings())
    center, width = request.args.get("center"), request.args.get("width")
    if center is None or width is None or "raw_range" not in image.tags:
        return _png(store.read(image.sha256))
    try:
        c, w = float(center), float(width)
    except ValueError:
        abort(422, "center and width must be numbers.")
    if not (0 < w < 1e6 and abs(c) < 1e6):
        abort(422, "width must be positive; center and width within a million.")
    lo, hi = image.tags["raw_range"]
    return _png(store.render_window(image.sha256, lo, hi, c, w))


@bp.get("/api/v1/images/<public_id>")
@requires(*READERS)
def api_image(public_id: str) -> Any:
    image = _image(public_id)
    return jsonify(image_view(image))


def _first(value: Any) -> float | None:
    value = value[0] if isinstance(value, list) and value else value
    return float(value) if isinstance(value, int | float) else None


@bp.get("/api/v1/cases/<public_id>/images")
@requires(*READERS)
def api_case_images(public_id: str) -> Any:
    case = get_db().query(Case).filter_by(public_id=public_id).one_or_none()
    if case is None:
        abort(404, "No such case.")
    return jsonify(images=[image_view(image) for image in case.images])


def image_view(image: Image) -> dict[str, Any]:
    """What the case page and the API show of one image (no embedding vector)."""
    lo, hi = image.tags.get("raw_range") or (0.0, 255.0)
    center = _first(image.tags.get("WindowCenter"))
    width = _first(image.tags.get("WindowWidth"))
    return {
        "window_center": center if center is not None else (lo + hi) / 2,
        "window_width": width if width is not None else max(hi - lo, 1.0),
        "id": image.public_id,
        "kind": image.kind,
        "image_type": image.image_type,
        "width": image.width,
        "height": image.height,
        "tags": {k: v for k, v in image.tags.items() if k != "raw_range"},
        "window": image.tags.get("raw_range"),
        "notes": image.notes,
        "quality_verdict": image.quality_verdict,
        "quality": image.quality,
        "analysis": image.analysis,
        "analyzed_at": image.analyzed_at.isoformat() if image.analyzed_at else None,
    }


@bp.app_template_global()
def case_images(case_public_id: str) -> list[dict[str, Any]]:
    """The case page's images (web/templates/_images.html)."""
    case = get_db().query(Case).filter_by(public_id=case_public_id).one_or_none()
    return [image_view(image) for image in case.images] if case is not None else []


@bp.app_template_global()
def images_disclaimer() -> str:
    return IMAGE_DISCLAIMER


@bp.app_template_global()
def case_image_text(case_public_id: str) -> dict[str, Any] | None:
    """The latest result's image+text reading (web/templates/_image_text_output.html)."""
    payload = (
        get_db()
        .query(Result.payload)
        .join(Case, Case.id == Result.case_id)
        .filter(Case.public_id == case_public_id)
        .order_by(Result.id.desc())
        .limit(1)
        .scalar()
    )
    return image_text_view(payload)
