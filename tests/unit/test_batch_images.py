"""`medtriage analyze` with images: paths per line (JSON `image_paths`, or a CSV column with
--map image=COLUMN), graded in process and reported on the line; a missing, undecodable or
refused file is that image's error and the batch goes on."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from shared.cli import main
from tests.support.images import dicom_bytes, png_bytes, radiograph

pytest.importorskip("pydicom")


@pytest.fixture
def files(tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "chest.png").write_bytes(png_bytes(radiograph(256)))
    pixels = radiograph(256).astype(np.uint16) * 16
    (tmp_path / "imgs" / "ankle.dcm").write_bytes(
        dicom_bytes(pixels, modality="CR", tags={"ImageLaterality": "R"})
    )
    (tmp_path / "imgs" / "notes.png").write_bytes(b"%PDF-1.4 this is a PDF, not a PNG")
    (tmp_path / "imgs" / "cut.png").write_bytes(png_bytes(radiograph(256))[:300])
    return tmp_path


def lines_of(path) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_jsonl_image_paths_are_graded_and_bad_files_never_stop_the_batch(files):
    case = {"age_years": 30, "chief_complaint": "ankle pain", "note": "Twisted right ankle."}
    source = files / "cases.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in [
        case | {"image_paths": ["imgs/chest.png", str(files / "imgs" / "ankle.dcm")],
                "image_type": "xray"},
        case | {"image_paths": "imgs/missing.png; imgs/notes.png; imgs/cut.png"},
        case | {"image_paths": 42},
        case,
    ]) + "\n")  # fmt: skip
    out = files / "out.jsonl"
    result = CliRunner().invoke(main, ["analyze", "--in", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    first, second, third, fourth = lines_of(out)
    png, dcm = first["images"]
    assert png["path"] == "imgs/chest.png" and png["analysis"]["kind"] == "png"
    assert png["analysis"]["quality_verdict"] in ("usable", "degraded")
    assert dcm["analysis"]["kind"] == "dicom" and dcm["analysis"]["image_type"] == "xray"
    assert "laterality R" in json.dumps(dcm["analysis"]["observations"])
    assert first["result"]["risk_level"] and first["acuity"] >= 1
    missing, pdf, cut = second["images"]
    assert missing["error"] == "no such image file: imgs/missing.png"
    assert pdf["error"].startswith("refused (415)") and "PDF" in pdf["error"]
    assert cut["error"].startswith("refused (422)")
    assert second["result"]["summary"]  # the text result stands beside the image errors
    assert "image_paths" in third["error"] and "result" not in third
    assert "images" not in fourth and fourth["result"]
    table = result.output.splitlines()
    assert [r.split()[-1] for r in table if r.startswith("image errors")] == ["3"]
    assert [r.split()[-1] for r in table if r.startswith("errors")] == ["1"]


def test_csv_image_column_mapping(files):
    source = files / "cases.csv"
    source.write_text(
        "Age,Complaint,Scan,Kind\n"
        "30,ankle pain,imgs/ankle.dcm,xray\n"
        "40,wrist pain,imgs/nowhere.dcm,xray\n"
        "50,cough,,\n"
    )
    out = files / "out.jsonl"
    args = ["analyze", "--csv", "--in", str(source), "--out", str(out), "--map", "age_years=Age",
            "--map", "chief_complaint=Complaint", "--map", "image=Scan",
            "--map", "image_type=Kind"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    ankle, wrist, cough = lines_of(out)
    assert ankle["images"][0]["analysis"]["kind"] == "dicom"
    assert ankle["images"][0]["analysis"]["image_type"] == "xray"
    assert wrist["images"][0]["error"] == "no such image file: imgs/nowhere.dcm"
    assert "images" not in cough and cough["result"]
    bad = CliRunner().invoke(main, [*args[:-4], "--map", "image=NoSuchColumn"])
    assert bad.exit_code != 0 and "NoSuchColumn" in bad.output
