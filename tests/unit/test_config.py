"""Settings: defaults a clinic can run with, and limits that cannot contradict each other."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.config import Settings


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    settings = Settings(instance_path=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'medtriage.db'}"


def test_targets_per_acuity_default_to_ctas():
    assert Settings().target_minutes() == {1: 0, 2: 15, 3: 30, 4: 60, 5: 120}


def test_environment_prefix(monkeypatch):
    monkeypatch.setenv("MEDTRIAGE_TARGET_MINUTES_4", "90")
    monkeypatch.setenv("MEDTRIAGE_TARGET_MINUTES_2", "10")
    assert Settings().target_minutes() == {1: 0, 2: 10, 3: 30, 4: 90, 5: 120}


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_a_negative_target_is_refused(level):
    with pytest.raises(ValidationError, match=f"target_minutes_{level}"):
        Settings(**{f"target_minutes_{level}": -1})


def test_visibility_timeout_must_exceed_the_task_limit():
    with pytest.raises(ValidationError, match="visibility_timeout_s"):
        Settings(task_time_limit_s=600, visibility_timeout_s=300)


def test_unknown_quantization_is_refused():
    with pytest.raises(ValidationError, match="quantization"):
        Settings(quantization="3bit")


def test_generated_secret_key_is_kept_private_and_stable(tmp_path):
    first = Settings(instance_path=tmp_path).resolved_secret_key()
    assert len(first) == 64
    assert Settings(instance_path=tmp_path).resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
