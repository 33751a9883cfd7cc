#!/usr/bin/env bash
# The real CUDA path in one short run, for any machine with an NVIDIA GPU:
#   bash bench/gpu_check.sh            (needs the [model] extra: pip install -e '.[model]')
# Loads the small real Gemma 3 270M (converted once from its PyPI package, as the tests do)
# and a tiny random MedGemma-shaped model (Gemma3ForConditionalGeneration), each in bf16 and
# in 4-bit nf4 (bf16 compute, vision tower kept), on CUDA; runs one schema-constrained and one
# unconstrained greedy generation each, and a constrained padded batch of 8 (and, for the
# MedGemma-shaped one, an image+text generation with one 896 px image), and prints
# tokens/s and peak GPU memory. The last
# line is one JSON object. Without a CUDA device it stops at once and says so (exit 2).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: no NVIDIA GPU here (nvidia-smi missing or finds no device); run it on a GPU machine" >&2
    exit 2
fi
nvidia-smi -L

TOKENS="${GPU_CHECK_TOKENS:-128}" exec "$PYTHON" - <<'PY'
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())
try:
    import torch
except ImportError:
    sys.exit("gpu_check: torch is not installed: pip install -e '.[model]'")
if not torch.cuda.is_available():
    print(f"gpu_check: torch {torch.__version__} sees no CUDA device (a CPU-only wheel?)",
          file=sys.stderr)
    sys.exit(2)

from shared.cli_models import SAMPLE
from shared.clinical.engine import assess_case
from shared.inference.backend import GenerationRequest
from shared.inference.chain import warm_up
from shared.inference.local import TransformersBackend
from shared.inference.profiles import get_profile
from shared.inference.image_prompt import PromptImage
from shared.inference.image_prompt import messages as image_messages
from shared.inference.image_prompt import output_schema as image_schema
from shared.inference.prompt import messages, output_schema
from shared.safety.image_schema import ImageFacts
from tests.support.models import small_gemma, tiny_medgemma

tokens = int(os.environ["TOKENS"])
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, "
      f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no (fp32 is used)'}")
prompt = messages(SAMPLE, assess_case(SAMPLE))
from PIL import Image  # noqa: E402

picture = PromptImage(Image.new("RGB", (896, 896), (90, 90, 90)), "gpu-check",
                      ImageFacts(number=1, image_type="xray"))
image_prompt = image_messages(SAMPLE, assess_case(SAMPLE), [picture], "transformers")
folders = {
    "gemma3-270m": small_gemma(),
    "medgemma-4b": tiny_medgemma(Path(tempfile.mkdtemp(prefix="gpu-check-")) / "tiny-medgemma"),
}
rows = []
for profile, folder in folders.items():
    for quantization in ("none", "4bit"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        backend = TransformersBackend(
            get_profile(profile, quantization, max_new_tokens=tokens), folder, "cuda", 0
        )
        model = backend.load()
        warm_up(backend)
        load_s = time.perf_counter() - started
        row = {"model": "tiny-medgemma-shaped" if profile == "medgemma-4b" else profile,
               "quantization": quantization, "dtype": model.dtype, "device": model.device,
               "load_s": round(load_s, 2)}
        for mode, schema in (("constrained", output_schema()), ("unconstrained", None)):
            torch.cuda.synchronize()
            out = backend.generate(GenerationRequest(prompt, tokens, schema))
            torch.cuda.synchronize()
            decode_s = out.timings_ms["decode"] / 1000
            row[f"{mode}_tokens"] = out.tokens_out
            row[f"{mode}_tokens_per_s"] = round(out.tokens_out / decode_s, 1) if decode_s else None
        if profile == "medgemma-4b":  # image + text: the image at its placeholder
            torch.cuda.synchronize()
            out = backend.generate(GenerationRequest(image_prompt, tokens, image_schema()))
            torch.cuda.synchronize()
            decode_s = out.timings_ms["decode"] / 1000
            row["image_text_tokens_in"] = out.tokens_in
            row["image_text_tokens_per_s"] = (
                round(out.tokens_out / decode_s, 1) if decode_s else None
            )
        # A padded batch of 8 (MEDTRIAGE_MODEL_BATCH_SIZE): tokens written over wall time.
        torch.cuda.synchronize()
        began = time.perf_counter()
        outs = backend.generate_batch([GenerationRequest(prompt, tokens, output_schema())] * 8)
        torch.cuda.synchronize()
        made = sum(o.tokens_out for o in outs if not isinstance(o, Exception))
        row["batch8_tokens_per_s_wall"] = round(made / (time.perf_counter() - began), 1)
        row["peak_gpu_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 3)
        print(json.dumps(row), flush=True)
        rows.append(row)
        del backend
print(json.dumps({"gpu": torch.cuda.get_device_name(0), "rows": rows}))
PY
