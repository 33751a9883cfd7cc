"""Image benchmark: what the worker does per image, side by side in one run.

Run: `.venv/bin/python bench/image.py [--seconds 3] [--encoder efficientnet-lite0]
[--folder PATH]` (needs the [image-encoders] extra; without torch the embedding part is
skipped and says so).

For a generated chest-radiograph-like image at 512 x 512 and 2048 x 2048, stored as PNG and as
DICOM (12-bit, explicit VR little endian, and JPEG 2000): images per second for decode +
technical quality (shared.imaging.decode + quality, as the intake and worker run them), and
for the embedding (the configured encoder, CPU, one thread, as the worker runs it; RAD-DINO
and the others need their local folder, `--folder`). Ratios: DICOM against PNG, JPEG 2000
against uncompressed DICOM, 2048 against 512, embedding against quality. The peak resident
memory is this process's, which did exactly the worker's image work (Python, numpy, pydicom,
torch and the encoder loaded). The last line is one JSON object: quality_per_s (PNG 2048,
the common X-ray export), embed_per_s (2048 input), peak_rss_mb, and the details.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from shared.imaging.decode import decode  # noqa: E402
from shared.imaging.errors import ImageLimits  # noqa: E402
from shared.imaging.quality import assess_quality  # noqa: E402
from tests.support.images import dicom_bytes, png_bytes, radiograph  # noqa: E402

LIMITS = ImageLimits(max_bytes=200 * 1024 * 1024, max_pixels=50_000_000)
J2K = "1.2.840.10008.1.2.4.90"


def rate(work: Callable[[], Any], seconds: float) -> float:
    """Calls per second over at least `seconds` (and at least 3 calls), after one warm-up."""
    work()
    count, started = 0, time.perf_counter()
    while count < 3 or time.perf_counter() - started < seconds:
        work()
        count += 1
    return count / (time.perf_counter() - started)


def decode_and_grade(data: bytes, name: str) -> None:
    d = decode(data, name, "", LIMITS)
    assess_quality(d.display, image_type="xray", bits_stored=d.bits_stored,
                   distinct_levels=d.distinct_levels, tags=d.tags, kind=d.kind)  # fmt: skip


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--encoder", default="efficientnet-lite0")
    parser.add_argument("--folder", default="")
    args = parser.parse_args()

    inputs: dict[str, dict[str, tuple[bytes, str]]] = {}
    for size in (512, 2048):
        picture = radiograph(size)
        twelve = (picture.astype("uint16") * 16).astype("uint16")
        inputs[str(size)] = {
            "png": (png_bytes(picture), "cxr.png"),
            "dicom": (dicom_bytes(twelve), "cxr.dcm"),
            "dicom_j2k": (dicom_bytes(twelve, syntax=J2K), "cxr.dcm"),
        }
    quality: dict[str, dict[str, float]] = {}
    for size, files in inputs.items():
        quality[size] = {}
        for kind, (data, name) in files.items():
            per_s = rate(lambda d=data, n=name: decode_and_grade(d, n), args.seconds)
            quality[size][kind] = round(per_s, 2)
            print(f"decode + quality {size:>4} px {kind:<9} {per_s:8.2f} images/s "
                  f"({len(data) / 1024:.0f} KB)")  # fmt: skip

    embed: dict[str, float] = {}
    encoder_info: dict[str, Any] = {"encoder": args.encoder}
    try:
        import torch

        torch.set_num_threads(1)
        from shared.imaging.encoder import load_encoder

        started = time.perf_counter()
        encoder = load_encoder(args.encoder, folder=args.folder, threads=1)
        encoder_info.update(model=encoder.info.name, revision=encoder.info.revision,
                            load_s=round(time.perf_counter() - started, 2))  # fmt: skip
        for size in (512, 2048):
            image = Image.fromarray(radiograph(size))
            per_s = rate(lambda i=image: encoder.embed(i), args.seconds)
            embed[str(size)] = round(per_s, 2)
            print(f"embedding        {size:>4} px {args.encoder:<9} {per_s:8.2f} images/s")
    except Exception as exc:  # noqa: BLE001 - the benchmark reports what it could not run
        encoder_info["skipped"] = f"{type(exc).__name__}: {exc}"
        print(f"embedding skipped: {encoder_info['skipped']}")

    ratios = {
        f"dicom_vs_png_{s}": round(quality[s]["dicom"] / quality[s]["png"], 3) for s in quality
    }
    ratios |= {
        f"j2k_vs_dicom_{s}": round(quality[s]["dicom_j2k"] / quality[s]["dicom"], 3)
        for s in quality
    }
    ratios["png_2048_vs_512"] = round(quality["2048"]["png"] / quality["512"]["png"], 3)
    if embed:
        ratios["embed_vs_quality_2048"] = round(embed["2048"] / quality["2048"]["png"], 3)
    for name, value in ratios.items():
        print(f"ratio {name}: {value}")
    print(f"peak RSS (this process, the worker's image work): {peak_rss_mb()} MB")
    summary = {
        "quality_per_s": quality["2048"]["png"],
        "embed_per_s": embed.get("2048"),
        "peak_rss_mb": peak_rss_mb(),
        "quality": quality,
        "embed": embed,
        "encoder": encoder_info,
        "ratios": ratios,
        "cpu_threads": 1,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
