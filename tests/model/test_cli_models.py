"""`medtriage models list` and `models verify`, as a site runs them (settings from the
environment), against a real local chat server and real folders."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shared.cli import main
from shared.config import get_settings
from tests.model.chat_server import Answer, ChatServer
from tests.model.test_server_backend import output


@pytest.fixture
def run(monkeypatch, tmp_path):
    def invoke(*args: str, **env: str):
        monkeypatch.setenv("MEDTRIAGE_INSTANCE_PATH", str(tmp_path))
        for name, value in env.items():
            monkeypatch.setenv(f"MEDTRIAGE_{name.upper()}", value)
        get_settings.cache_clear()
        return CliRunner().invoke(main, list(args))

    yield invoke
    get_settings.cache_clear()


def test_list_shows_the_chain_and_what_is_on_disk(run, small_gemma_folder):
    result = run("models", "list", model_chain="gemma3-270m,deterministic",
                 models_dir=str(small_gemma_folder.parent))  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "chain: gemma3-270m, deterministic"
    (small,) = [line for line in lines if " gemma3-270m " in line]
    assert small.startswith("[1]") and "found, 0.5" in small and "revision local-" in small
    (big,) = [line for line in lines if " medgemma-27b-text-4bit " in line]
    assert big.startswith("   ") and "4bit" in big and big.endswith("(not found)")


def test_verify_a_served_model(run):
    server = ChatServer(answers=[Answer(text="OK"), Answer(text=output(3))])
    server.start()
    try:
        result = run("models", "verify", "medgemma-4b-vllm", model_base_url=server.base_url)
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert (
        "medgemma-4b-vllm: google/medgemma-4b-it @ server:/models/medgemma-4b-it" in result.output
    )
    assert "generation: 321 tokens in, 45 out" in result.output
    assert "peak memory: process" in result.output
    assert "output: valid (model), suggested acuity 3" in result.output
    assert server.requests[-1]["response_format"]["type"] == "json_schema"


def test_verify_a_missing_folder_fails_naming_it(run, tmp_path):
    result = run("models", "verify", "medgemma-4b-4bit", models_dir=str(tmp_path / "none"))
    assert result.exit_code == 1
    assert f"cannot load: model folder {tmp_path / 'none' / 'medgemma-4b-it'} does not exist" in (
        result.output
    )
