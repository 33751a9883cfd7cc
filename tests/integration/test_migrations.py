"""The Alembic scripts build exactly the models' schema, on SQLite and on PostgreSQL, and
migration 0002 gives existing cases an acuity from their risk level."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import Base, Case, Result, make_engine
from shared.migrate import upgrade
from shared.schemas import Acuity
from tests.support.services import PostgresDatabase


def test_autogenerate_finds_no_difference(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == []
    assert {"cases", "results", "audit_events", "users", "api_tokens"} <= tables


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    database = PostgresDatabase()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


def test_existing_cases_get_an_acuity_from_their_risk_level(empty_database):
    """A clinic upgrading keeps every open case on the board: High 2, Medium 3, Low 4."""
    settings = Settings(database_url=empty_database)
    upgrade(settings, "0001")
    engine = make_engine(empty_database)
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, active, created_at) "
                    "VALUES (1, 'nurse1', 'x', 'nurse', true, :now)"
                ),
                {"now": now},
            )
            for number, (provisional, final) in enumerate(
                [("high", "high"), ("medium", "high"), ("low", "medium"), ("low", "low")], 1
            ):
                conn.execute(
                    text(
                        "INSERT INTO cases (id, public_id, submitted_by_id, age_years, sex, "
                        "pregnant, chief_complaint, note, vitals, status, provisional_risk, "
                        "provisional_reasons, risk_level, risk_rank, attempts, created_at, "
                        "updated_at) VALUES (:id, :pid, 1, 40, 'female', false, 'c', '', '{}', "
                        "'analyzed', :provisional, '[]', :final, 1, 0, :now, :now)"
                    ),
                    {"id": number, "pid": f"case-{number}", "provisional": provisional,
                     "final": final, "now": now},
                )  # fmt: skip
                conn.execute(
                    text(
                        "INSERT INTO results (case_id, analysis_key, risk_level, payload, "
                        "pipeline, pipeline_version, model_ids, worker_host, duration_ms, "
                        "created_at) VALUES (:id, 'k', :final, '{}', 'p', '1', 'm', 'h', 1, :now)"
                    ),
                    {"id": number, "final": final, "now": now},
                )
        upgrade(settings)
        with Session(engine) as session:
            cases = session.scalars(select(Case).order_by(Case.id)).all()
            assert [(c.provisional_acuity, c.acuity) for c in cases] == [
                (Acuity.EMERGENT, Acuity.EMERGENT),
                (Acuity.URGENT, Acuity.EMERGENT),
                (Acuity.LESS_URGENT, Acuity.URGENT),
                (Acuity.LESS_URGENT, Acuity.LESS_URGENT),
            ]
            assert all(c.vitals_documented and c.vital_conflicts == [] for c in cases)
            results = session.scalars(select(Result).order_by(Result.case_id)).all()
            assert [r.acuity for r in results] == [2, 2, 3, 4]
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("cases")}
        assert indexes["ix_cases_board"] == ["status", "acuity", "vitals_documented", "created_at"]
    finally:
        engine.dispose()


def test_an_acuity_outside_1_to_5_is_refused_by_the_database(database_url, settings):
    engine = make_engine(database_url)
    try:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE results SET acuity = 0"))
            conn.execute(
                text(
                    "INSERT INTO users (id, username, password_hash, role, active, created_at) "
                    "VALUES (9, 'n9', 'x', 'nurse', true, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO cases (public_id, submitted_by_id, age_years, sex, pregnant, "
                    "chief_complaint, note, vitals, status, provisional_risk, "
                    "provisional_reasons, risk_level, risk_rank, provisional_acuity, acuity, "
                    "vitals_documented, vital_conflicts, attempts, created_at, updated_at) "
                    "VALUES ('x', 9, 40, 'female', false, 'c', '', '{}', 'queued', 'low', '[]', "
                    "'low', 1, 4, 6, true, '[]', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("acuity", "risk", "rank"),
    [(1, "high", 3), (2, "high", 3), (3, "medium", 2), (4, "low", 1), (5, "low", 1)],
)
def test_set_acuity_sets_the_risk_level_and_rank_with_it(acuity, risk, rank):
    case = Case()
    case.set_acuity(acuity)
    assert case.acuity is Acuity(acuity)
    assert (case.risk_level.value, case.risk_rank) == (risk, rank)
