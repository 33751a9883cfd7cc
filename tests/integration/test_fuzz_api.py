"""Fuzz of the JSON API with the real app, database and Redis: no body is ever a 5xx.

Bodies are near-valid cases and case actions with fields swapped for values of the wrong
kind (numbers as strings, booleans, nulls, nested objects and lists, huge strings, any
unicode including lone surrogates, NaN and infinities), fields dropped or added, and whole
bodies of any JSON. Every answer below 500; an accepted case is exactly one stored case and a
refused one stores nothing; an accepted case is one strict validation accepts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select

from shared.db import Case
from shared.schemas import CaseIn
from tests.conftest import case_body
from tests.support.cases import submit

# Derandomized: the same examples on every run, so a failure here is reproducible. 1,320
# bodies on each database: 600 cases and 120 for each of the six case actions.
FUZZ = settings(
    max_examples=600,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HUGE = st.sampled_from([64, 65, 501, 20_000, 20_001, 300_000]).flatmap(
    lambda n: st.sampled_from(["x" * n, "é" * n, "😷" * n, " " * n, "9" * n])
)
TEXT = st.text(st.characters(exclude_categories=()), max_size=60)  # surrogates included
NUMBER_TEXT = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["40", "40.5", " 72 ", "1e3", "0x1F", "NaN", "-0", "\u0663", "\uff11\uff12"]),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    NUMBER_TEXT,
    HUGE,
    st.sampled_from(["", "A", "female", "admit", "me", "majors", "yes", "true", "null"]),
)
ANY_JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def mutated(template: dict[str, Any], nested: dict[str, dict[str, Any]] | None = None) -> Any:
    """The template with some fields replaced, dropped or added; sometimes any JSON at all."""
    nested = nested or {}
    fields = sorted({*template, *nested})

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        body = dict(template)
        for name, inner in nested.items():
            if draw(st.booleans()):
                body[name] = draw(mutated(inner))
        for name in draw(st.lists(st.sampled_from(fields), max_size=3, unique=True)):
            if draw(st.booleans()):
                body.pop(name, None)
            else:
                body[name] = draw(ANY_JSON)
        if draw(st.integers(0, 9)) == 0:
            body[draw(TEXT)] = draw(ANY_JSON)
        return body

    return st.one_of(build(), build(), build(), ANY_JSON)


VITALS = case_body("high")["vitals"]
CASE_BODIES = mutated(case_body("medium"), {"vitals": VITALS})
ACTION_BODIES = {
    "acknowledge": mutated({"assign_to": "me", "area": "majors"}),
    "area": mutated({"area": "resus"}),
    "observations": mutated({"vitals": VITALS, "note": "RR up"}, {"vitals": VITALS}),
    "override": mutated({"acuity": 2, "reason": "looks worse than the numbers"}),
    "disposition": mutated({"disposition": "admit"}),
    "notes": mutated({"text": "family informed"}),
}
KEYS = st.one_of(
    st.none(),
    st.sampled_from(["k1", "k2", "k3"]),  # reused across bodies and actions
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=140),
)


def encode(body: Any) -> bytes:
    """As a careless client would: NaN and Infinity as bare words, lone surrogates escaped."""
    return json.dumps(body, allow_nan=True).encode()


def post(client, token: str, path: str, body: Any, key: str | None):
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, data=encode(body), content_type="application/json", headers=headers)


def strictly_valid(raw: bytes) -> bool:
    try:
        CaseIn.model_validate_json(raw, strict=True)
    except ValidationError:
        return False
    return True


def stored(sessions) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count(Case.id))) or 0)


def test_fuzzed_case_bodies_never_get_a_5xx(client, staff, sessions):
    token = staff["nurse"].token
    seen: set[int] = set()

    @FUZZ
    @given(body=CASE_BODIES, key=KEYS)
    def run(body: Any, key: str | None) -> None:
        before = stored(sessions)
        response = post(client, token, "/api/v1/cases", body, key)
        status = response.status_code
        seen.add(status)
        assert status < 500, response.get_data(as_text=True)[:500]
        assert response.is_json, response.get_data(as_text=True)[:200]
        answer = response.get_json()
        if status == 202:
            assert strictly_valid(encode(body))
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            assert stored(sessions) == before + (0 if replayed else 1)
            assert (
                client.get(answer["url"], headers={"Authorization": f"Bearer {token}"}).status_code
                == 200
            )
        else:
            assert "error" in answer
            assert stored(sessions) == before  # nothing half-written
            if key is None:  # with a key, a 422 may be the key's first body differing
                assert not strictly_valid(encode(body))

    run()
    assert {202, 422} <= seen, seen  # the fuzz reached both the database and the validator


@pytest.mark.parametrize("action", sorted(ACTION_BODIES))
def test_fuzzed_case_actions_never_get_a_5xx(client, staff, action):
    nurse, clinician = staff["nurse"].token, staff["clinician"].token
    cases = [submit(client, nurse, case_body(r))["id"] for r in ("low", "high")]
    seen: set[int] = set()

    @settings(FUZZ, max_examples=120)  # six actions: 720 bodies, 1,320 with intake
    @given(body=ACTION_BODIES[action], key=KEYS, which=st.integers(0, 2))
    def run(body: Any, key: str | None, which: int) -> None:
        public_id = cases[which] if which < len(cases) else "no-such-case"
        path = f"/api/v1/cases/{public_id}/{action}"
        response = post(client, clinician, path, body, key)
        status = response.status_code
        seen.add(status)
        assert status < 500, response.get_data(as_text=True)[:500]
        assert response.is_json, response.get_data(as_text=True)[:200]
        if status == 409 and "closed" in response.get_json()["error"]:
            cases[which] = submit(client, nurse, case_body("medium"))["id"]  # keep one open

    run()
    assert any(s < 300 for s in seen) and 422 in seen, seen


DEEP = b'{"vitals": ' + b"[" * 1000 + b"]" * 1000 + b"}"


@pytest.mark.parametrize(
    "action",
    [None, *sorted(ACTION_BODIES)],
)
def test_json_nested_1000_deep_is_a_400_on_every_endpoint(client, staff, sessions, action):
    path = "/api/v1/cases"
    if action is not None:
        path += f"/{submit(client, staff['nurse'].token, case_body('low'))['id']}/{action}"
    before = stored(sessions)
    response = client.post(
        path,
        data=DEEP,
        content_type="application/json",
        headers={"Authorization": f"Bearer {staff['clinician'].token}"},
    )
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert stored(sessions) == before


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("override", {"acuity": True, "reason": "looks worse"}, "acuity"),  # was level 1
        ("override", {"acuity": "2", "reason": "looks worse"}, "acuity"),
        ("observations", {"vitals": {"heart_rate": "140"}}, "vitals.heart_rate"),
        ("notes", {"text": "pain \u202etfel"}, "text"),
        ("observations", {"vitals": {"heart_rate": 90}, "note": "NEL\x85"}, "note"),
    ],
)
def test_case_actions_refuse_type_confusion_and_invisible_characters(
    client, staff, action, body, field
):
    case = submit(client, staff["nurse"].token, case_body("low"))["id"]
    response = client.post(
        f"/api/v1/cases/{case}/{action}",
        json=body,
        headers={"Authorization": f"Bearer {staff['clinician'].token}"},
    )
    assert response.status_code == 422
    assert field in {f["field"] for f in response.get_json()["fields"]}
