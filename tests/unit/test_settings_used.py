"""Every setting is read somewhere: a variable a site sets and nothing reads is a silent lie."""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path
from typing import Any

from shared.config import Settings
from tests.support.services import ROOT

# Where the application lives (Python and Jinja templates); shared/config.py itself is left out.
SOURCES = ("shared", "web", "worker")
CONFIG = ROOT / "shared" / "config.py"
# How the code holds its Settings: `settings.x`, `self.settings.x`, `get_settings().x`,
# `current_app.config["MEDTRIAGE"].x`, and `config.MEDTRIAGE.x` in a template.
READ = re.compile(
    r"""(?:\bsettings|\bget_settings\(\)|\bconfig\[["']MEDTRIAGE["']\]|\bconfig\.MEDTRIAGE)"""
    r"""\.([A-Za-z_]\w*)""",
    re.IGNORECASE,
)
SELF_READ = re.compile(r"\bself\.([A-Za-z_]\w*)")

# Read by nothing yet: the model-backed pipelines will read them. The README and
# docker-compose.yml say "not used yet" for each (tests below and in test_compose.py). Take a
# name out when code reads it; test_allow_list_names_only_settings_nothing_reads insists.
NOT_USED_YET: frozenset[str] = frozenset()


def source_files() -> list[Path]:
    files = [p for d in SOURCES for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".html")]
    return [p for p in files if p.resolve() != CONFIG.resolve()]


def names_read_outside_config() -> set[str]:
    """Every `<settings>.<name>` the application writes, outside shared/config.py."""
    return {m[1] for path in source_files() for m in READ.finditer(path.read_text())}


def accessors() -> dict[str, Any]:
    """Settings' own public methods and properties (`target_minutes()`, `sqlalchemy_url`)."""
    return {
        name: member
        for name, member in vars(Settings).items()
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    }


class Recorder:
    """Stands in for `self` while an accessor runs and notes every field it reads, however
    it reads it (an attribute, getattr with a built name, another accessor)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.fields: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        if name in Settings.model_fields:
            self.fields.add(name)
            return getattr(self.settings, name)
        member = accessors().get(name)
        if isinstance(member, property):
            return member.fget(self)  # type: ignore[misc]
        if member is not None:
            return functools.partial(member, self)
        return getattr(self.settings, name)


def fields_behind(name: str, member: Any, settings: Settings) -> set[str]:
    """The fields an accessor reads: those it touches when run (when it needs no
    arguments), and every `self.<field>` written in its source (branches not taken)."""
    function = member.fget if isinstance(member, property) else member
    recorder = Recorder(settings)
    if isinstance(member, property):
        member.fget(recorder)
    elif all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        for p in list(inspect.signature(function).parameters.values())[1:]
    ):
        function(recorder)
    static = set(SELF_READ.findall(inspect.getsource(function)))
    return recorder.fields | (static & set(Settings.model_fields))


def fields_read(settings: Settings) -> set[str]:
    """Fields the application reads, directly or through an accessor it calls."""
    names = names_read_outside_config()
    read = names & set(Settings.model_fields)
    for name, member in accessors().items():
        if name in names:
            read |= fields_behind(name, member, settings)
    return read


def test_every_setting_is_read_outside_config(tmp_path: Path) -> None:
    read = fields_read(Settings(instance_path=tmp_path, secret_key=""))
    unread = set(Settings.model_fields) - read - NOT_USED_YET
    assert not unread, f"settings nothing reads (a site would set them for nothing): {unread}"


def test_allow_list_names_only_settings_nothing_reads(tmp_path: Path) -> None:
    assert set(Settings.model_fields) >= NOT_USED_YET
    read = fields_read(Settings(instance_path=tmp_path, secret_key=""))
    assert not (NOT_USED_YET & read), "read now: take it out of NOT_USED_YET and the docs"


def test_accessors_count_only_when_called_outside_config(tmp_path: Path) -> None:
    # The recorder sees through an accessor: sqlalchemy_url reads database_url (and
    # instance_path when that is empty); a validator is no accessor and reads nothing here.
    settings = Settings(instance_path=tmp_path, database_url="")
    assert fields_behind("sqlalchemy_url", Settings.sqlalchemy_url, settings) >= {
        "database_url",
        "instance_path",
    }
    assert not any(name.startswith("_") for name in accessors())
    assert "sqlalchemy_url" in names_read_outside_config()


def test_unused_model_settings_say_so_in_the_readme() -> None:
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("|")]
    for name in NOT_USED_YET:
        variable = f"`MEDTRIAGE_{name.upper()}`"
        found = [row for row in rows if variable in row]
        assert found and all("not used yet" in row for row in found), variable
