"""Helpers to submit cases through the API and wait for the worker."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.db import Case, Result
from tests.support.services import wait_for


def submit(client: FlaskClient, token: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def statuses(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {c.public_id: c.status.value for c in session.scalars(select(Case))}


def wait_analyzed(sessions: sessionmaker[Session], ids: list[str], timeout: float = 60) -> None:
    def done() -> bool:
        current = statuses(sessions)
        return all(current.get(i) == "analyzed" for i in ids)

    wait_for(done, timeout, f"{len(ids)} cases to be analyzed", step=0.25)


def results_per_case(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(Case.public_id, func.count(Result.id)).outerjoin(Result).group_by(Case.public_id)
        ).all()
        return {public_id: count for public_id, count in rows}
