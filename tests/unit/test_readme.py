"""The README stays true for a newcomer: every setting documented, the commands real."""

from __future__ import annotations

import re

from shared.cli import main
from shared.config import Settings
from tests.support.services import ROOT

README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [
        f"MEDTRIAGE_{name.upper()}"
        for name in Settings.model_fields
        if f"`MEDTRIAGE_{name.upper()}`" not in README
    ]
    assert missing == []


def test_documented_settings_exist():
    documented = set(re.findall(r"`MEDTRIAGE_([A-Z0-9_]+)`", README))
    known = {name.upper() for name in Settings.model_fields} | {"TEST_PG"}
    assert documented - known == set()


def test_documented_commands_exist():
    for command in ("up", "web", "worker", "db", "users", "tokens", "analyze"):
        assert command in main.commands
        assert f"`medtriage {command}" in README
    assert (ROOT / "scripts" / "up").exists() and (ROOT / "scripts" / "test").exists()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
