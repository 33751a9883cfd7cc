"""Images through the real app, database and worker: intake (JSON base64, multipart, the form),
refusals that leave nothing behind, serving to staff only, the worker's quality verdict and
embedding, similar earlier cases, and no patient identity anywhere."""

from __future__ import annotations

import base64
import json
import re

import pytest
from sqlalchemy import func, select, text

from shared.db import AuditEvent, Case
from shared.db.models import Base, Image
from tests.conftest import case_body
from tests.support.cases import wait_analyzed
from tests.support.images import (
    IDENTITY,
    blurred,
    dicom_bytes,
    jpeg_bytes,
    png_bytes,
    radiograph,
    ramp16,
)
from tests.unit.imaging.test_decode import bomb_png

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"image_max_bytes": 3_000_000, "image_max_pixels": 9_000_000})


def b64(data: bytes, image_type: str = "xray", **extra) -> dict:
    return {"data": base64.b64encode(data).decode(), "image_type": image_type, **extra}


def post_json(client, token, body, images):
    return client.post(
        "/api/v1/cases",
        json={**body, "images": images},
        headers={"Authorization": f"Bearer {token}"},
    )


def stored_files(settings):
    root = settings.instance_path / "images"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def everything_in_the_database(sessions) -> str:
    with sessions() as session:
        return json.dumps(
            [
                [str(v) for v in row]
                for table in Base.metadata.sorted_tables
                for row in session.execute(text(f"SELECT * FROM {table.name}"))
            ]
        )


def test_json_api_attaches_png_and_dicom_without_any_identity(client, staff, sessions, settings):
    dicom = dicom_bytes(ramp16(512), tags={"PatientComments": "Zebedee again"})
    response = post_json(
        client,
        staff["nurse"].token,
        case_body("low"),
        [b64(png_bytes(radiograph(512))), b64(dicom, content_type="application/dicom")],
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    with sessions() as session:
        images = session.scalars(select(Image).order_by(Image.id)).all()
        assert [i.kind for i in images] == ["png", "dicom"]
        assert images[1].tags["ViewPosition"] == "PA" and images[1].quality_verdict is None
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "case.images_attached")
        )
        assert len(event.detail["images"]) == 2
    files = stored_files(settings)
    assert f"{images[1].sha256}.raw.png" in files and f"{images[0].sha256}.thumb.png" in files
    assert not any(name.endswith(".orig") for name in files)  # originals not kept by default
    text_db = everything_in_the_database(sessions)
    stored = b"".join(p.read_bytes() for p in (settings.instance_path / "images").rglob("*.png"))
    for value in [*IDENTITY.values(), "Zebedee"]:
        assert value not in text_db and value.encode() not in stored
    row = client.get("/api/v1/board", headers={"Authorization": f"Bearer {staff['nurse'].token}"})
    assert row.get_json()["rows"][0]["images"] == 2


def test_the_same_image_twice_is_stored_once(client, staff, sessions, settings):
    picture = png_bytes(radiograph(256))
    response = post_json(client, staff["nurse"].token, case_body(), [b64(picture), b64(picture)])
    assert response.status_code == 202
    with sessions() as session:
        assert session.scalar(select(func.count(Image.id))) == 1
    assert len(stored_files(settings)) == 2  # the image and its thumbnail


@pytest.mark.parametrize(
    ("image", "status", "words"),
    [
        (b64(b"\x89PNG\r\n\x1a\n" + b"\x00" * 3_000_001), 413, "limit is 3 MB"),
        (b64(bomb_png(4000, 4000)), 413, "megapixels"),
        (b64(b"%PDF-1.4 a letter"), 415, "PDF"),
        (b64(jpeg_bytes(radiograph(64)), content_type="image/png"), 415, "contains JPEG"),
        (b64(png_bytes(radiograph(256))[:900]), 422, "incomplete"),
        (b64(png_bytes(radiograph(64)) + b"<script>x</script>"), 422, "disguised"),
        (b64(dicom_bytes(ramp16(64), syntax="1.2.840.10008.1.2.4.100")), 422, "MPEG2"),
        ({"data": "not base64!!", "image_type": "xray"}, 422, "base64"),
    ],
)
def test_refused_images_leave_no_case_and_no_file(
    client, staff, sessions, settings, image, status, words
):
    response = post_json(client, staff["nurse"].token, case_body(), [image])
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert words in body["error"] and "Nothing was saved" in body["error"]
    with sessions() as session:
        assert session.scalar(select(func.count(Case.id))) == 0
    assert stored_files(settings) == []


def test_too_many_images_and_an_oversized_body(client, staff, sessions):
    five = [b64(png_bytes(radiograph(32 + i))) for i in range(5)]
    response = post_json(client, staff["nurse"].token, case_body(), five)
    assert response.status_code == 413 and "at most 4" in response.get_json()["error"]
    huge = client.post(
        "/api/v1/cases",
        data=b"{" + b" " * 20_000_000 + b"}",
        headers={"Authorization": f"Bearer {staff['nurse'].token}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    assert huge.status_code == 413 and "too large" in huge.get_json()["error"]


def test_multipart_api_with_a_case_part_and_files(client, staff, sessions):
    response = client.post(
        "/api/v1/cases",
        data={
            "case": json.dumps(case_body()),
            "image_type": "wound",
            "images": [(pytest.importorskip("io").BytesIO(jpeg_bytes(radiograph(300))), "w.jpg")],
        },
        headers={"Authorization": f"Bearer {staff['nurse'].token}"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    with sessions() as session:
        image = session.scalar(select(Image))
        assert image.kind == "jpeg" and image.image_type == "photo"


def test_images_are_served_to_logged_in_staff_only_and_never_cached(client, auth, staff, sessions):
    response = post_json(
        client,
        staff["nurse"].token,
        case_body(),
        [b64(dicom_bytes(ramp16(256), window=(2000, 1000)))],
    )
    assert response.status_code == 202
    with sessions() as session:
        image = session.scalar(select(Image))
    for path in (f"/images/{image.public_id}/thumb", f"/images/{image.public_id}/full"):
        anonymous = client.get(path)
        assert anonymous.status_code in (302, 401) and not anonymous.data.startswith(b"\x89PNG")
    auth.login("clinician1")
    full = client.get(f"/images/{image.public_id}/full")
    assert full.status_code == 200 and full.mimetype == "image/png"
    assert full.headers["Cache-Control"] == "no-store"
    other = client.get(f"/images/{image.public_id}/full?center=1000&width=400")
    assert other.status_code == 200 and other.data != full.data
    assert client.get(f"/images/{image.public_id}/full?center=x&width=1").status_code == 422
    assert client.get("/images/not-an-image/full").status_code == 404
    with sessions() as session:
        viewed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.image_viewed")
        ).all()
        assert len(viewed) == 3 and {e.actor for e in viewed} == {"clinician1"}
    listed = client.get(
        f"/api/v1/cases/{response.get_json()['id']}/images",
        headers={"Authorization": f"Bearer {staff['auditor'].token}"},
    ).get_json()["images"]
    assert [i["id"] for i in listed] == [image.public_id] and listed[0]["kind"] == "dicom"
    assert "raw_range" not in listed[0]["tags"] and listed[0]["window_width"] == 1000.0


def test_the_form_takes_an_image_and_refuses_a_bad_one(client, auth, staff, sessions):
    auth.login("nurse1")
    page = client.get("/cases/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="images"' in page
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    form = {
        "csrf_token": auth.csrf("/cases/new"),
        "form_token": token,
        "age_years": "40",
        "sex": "female",
        "chief_complaint": "cough",
        "image_type": "xray",
    }
    import io

    bad = client.post("/cases/new", data={**form, "images": (io.BytesIO(b"GIF89a...."), "x.gif")},
                      content_type="multipart/form-data")  # fmt: skip
    assert bad.status_code == 415
    assert "Files ending in .gif cannot be attached" in bad.get_data(as_text=True)
    with sessions() as session:
        assert session.scalar(select(func.count(Case.id))) == 0
    good = client.post(
        "/cases/new",
        data={**form, "images": (io.BytesIO(png_bytes(radiograph(512))), "cxr.png")},
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    with sessions() as session:
        case = session.scalar(select(Case))
        assert [i.kind for i in case.images] == ["png"]
    page = client.get(f"/cases/{case.public_id}").get_data(as_text=True)
    assert f"/images/{case.images[0].public_id}/thumb" in page and "analysis pending" in page


@pytest.mark.encoder
def test_worker_grades_embeds_and_finds_the_earlier_case(
    client, auth, staff, sessions, settings, worker
):
    pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite_pytorch")
    worker.settings = settings.model_copy(update={"image_encoder": "efficientnet-lite0",
                                                  "model_threads": 1})  # fmt: skip
    worker.start()
    token = staff["nurse"].token
    dicom = b64(dicom_bytes(ramp16(512), modality="CR"))  # carries the invented identity
    first = post_json(client, token, case_body("high"), [b64(png_bytes(radiograph(512))), dicom])
    wait_analyzed(sessions, [first.get_json()["id"]], timeout=120)
    second = post_json(
        client, token, case_body("low"), [b64(png_bytes(blurred(radiograph(512, seed=3), 2)))]
    )
    second_id = second.get_json()["id"]
    wait_analyzed(sessions, [second_id], timeout=120)
    with sessions() as session:
        case = session.scalar(select(Case).where(Case.public_id == second_id))
        image = case.images[0]
        assert image.quality_verdict == "unusable"
        assert image.embedding_model.startswith("efficientnet-lite0-imagenet@")
        assert len(image.embedding) == 1280 * 4
        similar = image.analysis["similar_cases"]
        assert similar and similar[0]["case_id"] == first.get_json()["id"]
        assert similar[0]["acuity"] <= 2
        # An unusable image changes nothing about the level: the low case stays low.
        assert case.acuity == case.provisional_acuity
    auth.login("clinician1")
    page = client.get(f"/cases/{second_id}").get_data(as_text=True)
    assert 'data-verdict="unusable"' in page and "severely blurred" in page
    assert "AI-generated" in page and "efficientnet-lite0-imagenet" in page
    assert "context, not a finding" in page
    with sessions() as session:
        graded = session.scalars(select(Image).order_by(Image.id)).all()
        assert [i.quality_verdict is not None for i in graded] == [True, True, True]
        assert graded[1].analysis["observations"][0]["source"] == "dicom"
    worker_log = worker.log_path.read_text()
    assert "triage.analyze_case" in worker_log  # the log is real: the task ran and was logged
    logs = worker_log + everything_in_the_database(sessions)
    for value in [*IDENTITY.values(), "Zebedee"]:
        assert value not in logs


def test_an_idempotency_key_replays_the_same_images_and_refuses_other_ones(client, staff, sessions):
    """A double submit with its images is one case; the same key with another image is a
    different submission, refused (422) rather than the new image silently dropped."""
    token, body = staff["nurse"].token, case_body("high")
    key = {"Idempotency-Key": "cxr-double-submit"}
    first_pair = [b64(png_bytes(radiograph(256))), b64(png_bytes(radiograph(256, seed=3)))]

    def send(images):
        return client.post(
            "/api/v1/cases",
            json={**body, "images": images},
            headers={"Authorization": f"Bearer {token}", **key},
        )

    first = send(first_pair)
    assert first.status_code == 202
    again = send(list(reversed(first_pair)))  # the same images, in another order
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    other = send([b64(png_bytes(radiograph(256, seed=11)))])
    assert other.status_code == 422 and other.get_json()["field"] == "Idempotency-Key"
    without = send([])
    assert without.status_code == 422
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert session.scalar(select(func.count()).select_from(Image)) == 2
