"""The in-process backend: a Gemma-family model from a local folder, with transformers.

torch, transformers, bitsandbytes and xgrammar are imported here, inside functions, only when
a worker loads a model: importing this module costs nothing.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.inference.backend import (
    Generation,
    GenerationError,
    GenerationRequest,
    ModelIdentity,
    ModelLoadError,
    folder_revision,
    library_versions,
)
from shared.inference.profiles import ModelProfile


@dataclass(frozen=True)
class Loader:
    """How one architecture loads: its model class and its text/image processor class."""

    model_class: str
    processor_class: str
    images: bool


# By the `architectures` entry of the folder's config.json (a registry, not a branch chain).
ARCHITECTURES: dict[str, Loader] = {
    "Gemma3ForConditionalGeneration": Loader(
        "AutoModelForImageTextToText", "AutoProcessor", images=True
    ),
    "Gemma3ForCausalLM": Loader("AutoModelForCausalLM", "AutoTokenizer", images=False),
    "Gemma2ForCausalLM": Loader("AutoModelForCausalLM", "AutoTokenizer", images=False),
    "GemmaForCausalLM": Loader("AutoModelForCausalLM", "AutoTokenizer", images=False),
}
# The vision tower, its projector and the output head stay in bf16 when quantizing:
# transformers 5 would otherwise quantize the vision tower too. It matches a name from its
# start (where the tower is `model.vision_tower`); transformers 4 matched anywhere in it.
SKIP_QUANTIZING = [
    "model.vision_tower",
    "model.multi_modal_projector",
    "vision_tower",
    "multi_modal_projector",
    "lm_head",
]
WEIGHTS = ("*.safetensors", "*.bin")


def check_folder(folder: Path) -> Loader:
    """A clear error naming the folder when it cannot hold a loadable Gemma model."""
    if not folder.is_dir():
        raise ModelLoadError(f"model folder {folder} does not exist (see README: placing weights)")
    try:
        config = json.loads((folder / "config.json").read_text())
    except OSError:
        raise ModelLoadError(f"model folder {folder} has no config.json") from None
    except ValueError as exc:
        raise ModelLoadError(f"model folder {folder}: config.json is not JSON ({exc})") from None
    if not any(next(folder.glob(pattern), None) for pattern in WEIGHTS):
        raise ModelLoadError(f"model folder {folder} has no weights (*.safetensors)")
    arch = (config.get("architectures") or ["?"])[0]
    loader = ARCHITECTURES.get(arch)
    if loader is None:
        raise ModelLoadError(
            f"model folder {folder}: architecture {arch} is not a Gemma-family model this "
            f"backend knows ({', '.join(ARCHITECTURES)})"
        )
    has_template = (folder / "chat_template.jinja").exists() or "chat_template" in (
        _read_json(folder / "tokenizer_config.json")
    )
    if not has_template:
        raise ModelLoadError(f"model folder {folder} has no chat template (chat_template.jinja)")
    return loader


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cpu_threads(requested: int) -> int:
    """Torch's default threading made a small model 10x slower on 2 cores: half the cores."""
    return requested if requested > 0 else max(1, (os.cpu_count() or 2) // 2)


class TransformersBackend:
    """One model held in this process, loaded once, greedy decoding."""

    backend = "transformers"

    def __init__(
        self, profile: ModelProfile, folder: Path, device: str = "auto", threads: int = 0
    ) -> None:
        self.profile = profile
        self.folder = folder
        self.requested_device = device
        self.threads = threads
        self.model: Any = None
        self.processor: Any = None
        self.tokenizer: Any = None
        self._grammars: dict[str, Any] = {}
        self._compiler: Any = None
        self._stop_ids: list[int] = []

    def load(self) -> ModelIdentity:
        loader = check_folder(self.folder)
        os.environ["HF_HUB_OFFLINE"] = "1"  # never a download, whatever the folder says
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        import transformers

        device = self.requested_device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cpu"):
            torch.set_num_threads(cpu_threads(self.threads))
        # bf16 unless the profile asks for float32; never float16 (Gemma 3 overflows it).
        dtype = torch.float32 if self.profile.dtype == "float32" else torch.bfloat16
        if device.startswith("cuda") and not torch.cuda.is_bf16_supported():
            dtype = torch.float32  # never float16: Gemma 3 overflows it
        kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": True, "device_map": device}
        if self.profile.quantization != "none":
            kwargs["quantization_config"] = self._bnb_config(dtype)
        try:
            model_class = getattr(transformers, loader.model_class)
            self.model = model_class.from_pretrained(self.folder, **kwargs).eval()
            processor_class = getattr(transformers, loader.processor_class)
            self.processor = processor_class.from_pretrained(self.folder, local_files_only=True)
        except (OSError, ValueError, RuntimeError, ImportError, KeyError) as exc:
            raise ModelLoadError(
                f"model folder {self.folder}: {type(exc).__name__}: {exc}"
            ) from exc
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        end_of_turn = self.tokenizer.convert_tokens_to_ids("<end_of_turn>")
        self._stop_ids = [i for i in {self.tokenizer.eos_token_id, end_of_turn} if i is not None]
        return ModelIdentity(
            profile=self.profile.name,
            backend=self.backend,
            model_id=self.profile.model_id,
            revision=folder_revision(self.folder),
            dtype=str(dtype).removeprefix("torch."),
            quantization=self.profile.quantization,
            device=str(self.model.device),
            version=self.profile.version,
            library_versions=library_versions(),
        )

    def _bnb_config(self, dtype: Any) -> Any:
        from transformers import BitsAndBytesConfig

        if self.profile.quantization == "8bit":
            return BitsAndBytesConfig(  # type: ignore[no-untyped-call]
                load_in_8bit=True, llm_int8_skip_modules=SKIP_QUANTIZING
            )
        return BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=dtype,  # bf16 compute, or the output is empty
            bnb_4bit_use_double_quant=True,
            llm_int8_skip_modules=SKIP_QUANTIZING,
        )

    @property
    def vocab_size(self) -> int:
        # Gemma 3 pads its logits past the tokenizer; the multimodal config nests it.
        config = self.model.config
        return int(getattr(config, "text_config", config).vocab_size)

    def grammar(self, schema: dict[str, Any]) -> Any:
        """The schema compiled once per process (about 0.05 s at Gemma's vocabulary)."""
        key = json.dumps(schema)  # in the schema's own order: summary first, as written
        if key not in self._grammars:
            if self._compiler is None:
                import xgrammar as xgr

                info = xgr.TokenizerInfo.from_huggingface(
                    self.tokenizer, vocab_size=self.vocab_size, stop_token_ids=self._stop_ids
                )
                self._compiler = xgr.GrammarCompiler(info)
            self._grammars[key] = self._compiler.compile_json_schema(key, any_whitespace=False)
        return self._grammars[key]

    def _template(self) -> Any:
        return self.processor if hasattr(self.processor, "tokenizer") else self.tokenizer

    def count_tokens(self, messages: list[dict[str, Any]]) -> int:
        """The prompt's length in this model's tokens, chat template included."""
        ids = self._template().apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        return len(ids[0]) if ids and isinstance(ids[0], list) else len(ids)

    def encode(self, request: GenerationRequest) -> Any:
        """The prompt's tensors (one row, on the CPU); refused when over the context limit."""
        inputs = self._template().apply_chat_template(
            request.messages,
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
        )
        length = inputs["input_ids"].shape[-1]
        if length > self.profile.max_input_tokens:
            raise GenerationError(
                f"prompt of {length} tokens exceeds the limit of {self.profile.max_input_tokens}"
            )
        return inputs

    def generate(self, request: GenerationRequest) -> Generation:
        (answer,) = self._generate_rows([request])
        if isinstance(answer, GenerationError):
            raise answer
        return answer

    def generate_batch(
        self, requests: list[GenerationRequest]
    ) -> list[Generation | GenerationError]:
        """Greedy generation for several prompts in one padded batch each of the same token
        limit and constraint; answers in order, each with its own tokens and decode time."""
        answers: list[Generation | GenerationError | None] = [None] * len(requests)
        groups: dict[tuple[int, bool], list[int]] = {}
        for i, request in enumerate(requests):
            key = (request.max_new_tokens, request.json_schema is not None)
            groups.setdefault(key, []).append(i)
        for rows in groups.values():
            together = self._generate_rows([requests[i] for i in rows])
            for i, answer in zip(rows, together, strict=True):
                answers[i] = answer
        return [a if a is not None else GenerationError("not generated") for a in answers]

    def _generate_rows(
        self, requests: list[GenerationRequest]
    ) -> list[Generation | GenerationError]:
        """One generate() call for requests sharing max_new_tokens and constrained-ness."""
        started = time.perf_counter()
        answers: list[Generation | GenerationError | None] = [None] * len(requests)
        encoded: list[tuple[int, Any]] = []
        for i, request in enumerate(requests):
            try:
                encoded.append((i, self.encode(request)))
            except GenerationError as exc:
                answers[i] = exc
        if not encoded:
            return [a for a in answers if a is not None]
        if not all(set(inputs) <= PADDABLE for _, inputs in encoded):
            # An image's pixel values do not pad: such prompts go one at a time.
            if len(encoded) > 1:
                for i, _ in encoded:
                    answers[i] = self._generate_rows([requests[i]])[0]
                return [a for a in answers if a is not None]
        inputs = self._left_pad([x for _, x in encoded]).to(self.model.device)
        timings = {"prompt": (time.perf_counter() - started) * 1000}
        processors: list[Any] = []
        first = requests[encoded[0][0]]
        if first.json_schema is not None:
            import xgrammar as xgr

            grammars = [self.grammar(requests[i].json_schema or {}) for i, _ in encoded]
            timings["grammar"] = (time.perf_counter() - started) * 1000 - timings["prompt"]
            # One processor per generate() call (it keeps each row's matcher state); a
            # list gives every row its own matcher, so each row is constrained alone.
            processors.append(xgr.contrib.hf.LogitsProcessor(grammars))
        import torch

        clock = _StepClock()
        begin = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=first.max_new_tokens,
                do_sample=False,
                logits_processor=[clock, *processors],
                eos_token_id=self._stop_ids,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        end = time.perf_counter()
        padded_len = inputs["input_ids"].shape[-1]
        prefill_at = clock.stamps[0] if clock.stamps else end
        for row, (i, one) in enumerate(encoded):
            new = [int(t) for t in out[row][padded_len:]]
            stop = next((j for j, t in enumerate(new) if t in self._stop_ids), None)
            if stop is not None:
                new = new[: stop + 1]  # after its stop token a finished row holds only padding
            finished = clock.stamps[len(new)] if len(new) < len(clock.stamps) else end
            row_timings = dict(timings)
            row_timings["prefill"] = (prefill_at - begin) * 1000
            row_timings["decode"] = (finished - prefill_at) * 1000
            answers[i] = Generation(
                text=self.tokenizer.decode(new, skip_special_tokens=True),
                tokens_in=int(one["input_ids"].shape[-1]),
                tokens_out=len(new),
                finish_reason="stop"
                if stop is not None or len(new) < first.max_new_tokens
                else "length",
                timings_ms={k: round(v, 3) for k, v in row_timings.items()},
                batch_size=len(encoded),
            )
        return [a for a in answers if a is not None]

    def _left_pad(self, rows: list[Any]) -> Any:
        """Rows of different lengths as one batch, padded on the left (the generation side
        stays aligned) with an attention mask that hides the padding."""
        if len(rows) == 1:
            return rows[0]
        import torch
        from transformers import BatchEncoding

        width = max(r["input_ids"].shape[-1] for r in rows)
        batch: dict[str, Any] = {}
        for name in rows[0]:
            fill = self.tokenizer.pad_token_id if name == "input_ids" else 0
            batch[name] = torch.cat(
                [
                    torch.nn.functional.pad(
                        r[name], (width - r[name].shape[-1], 0), value=fill or 0
                    )
                    for r in rows
                ]
            )
        return BatchEncoding(batch)


# The encoded fields that pad as token rows; anything else (pixel values) does not batch here.
PADDABLE = {"input_ids", "attention_mask", "token_type_ids"}


class _StepClock:
    """A logits processor that only notes when each step's logits arrive: the first is the
    end of the prefill, and a row's last token was chosen at the stamp after its length."""

    def __init__(self) -> None:
        self.stamps: list[float] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.stamps.append(time.perf_counter())
        return scores
