"""A login flood against the real gunicorn (one process, four threads, as a small clinic runs
it) while a nurse's terminal submits cases: every case is accepted. The flood comes from many
addresses at once (the per-address lockout is set out of the way), so only the bounded
password hashing stands between the flood and intake."""

from __future__ import annotations

import collections
import http.client
import re
import socket
import subprocess
import threading
import urllib.parse

import pytest
import requests

from shared.cli import web_argv
from tests.conftest import case_body
from tests.support.services import ROOT, free_port, settings_env, wait_for

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

FLOODERS = 16
CASES = 3
# A terminal gives up on a request after this long: generous, it is no timing claim.
TERMINAL_TIMEOUT_S = 20
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def serve(settings, tmp_path, **update):
    settings = settings.model_copy(
        update={"host": "127.0.0.1", "port": free_port(), "web_workers": 1, "web_threads": 4,
                **update}
    )  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        web_argv(settings), cwd=ROOT, env=settings_env(settings), stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{settings.port}"

    def up() -> bool:
        try:
            return requests.get(base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(up, 30, "gunicorn")
    return process, base


def flood(base: str, stop: threading.Event, seen: collections.Counter) -> None:
    browser = requests.Session()
    token = CSRF.search(browser.get(base + "/login", timeout=30).text)[1]
    while not stop.is_set():
        try:
            answer = browser.post(
                base + "/login",
                data={"username": "nurse1", "password": "not-the-password", "csrf_token": token},
                allow_redirects=False,
                timeout=30,
            )
        except requests.RequestException as exc:
            seen[type(exc).__name__] += 1
        else:
            seen[answer.status_code] += 1


def test_a_login_flood_never_holds_up_intake(settings, staff, tmp_path):
    process, base = serve(
        settings,
        tmp_path,
        login_limit_user="100000 per minute",
        login_limit_address="100000 per minute",
        password_hash_slots=1,
        password_hash_wait_s=0.25,
    )
    stop, seen = threading.Event(), collections.Counter()
    threads = [threading.Thread(target=flood, args=(base, stop, seen)) for _ in range(FLOODERS)]
    outcomes = []
    try:
        for thread in threads:
            thread.start()
        wait_for(lambda: sum(seen.values()) >= FLOODERS, 60, "the flood to be under way")
        for _ in range(CASES):
            try:
                answer = requests.post(
                    base + "/api/v1/cases",
                    json=case_body("high"),
                    headers={"Authorization": f"Bearer {staff['nurse'].token}"},
                    timeout=TERMINAL_TIMEOUT_S,
                )
                outcomes.append(answer.status_code)
            except requests.RequestException as exc:
                outcomes.append(type(exc).__name__)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        process.terminate()
        process.wait(timeout=20)
    assert outcomes == [202] * CASES
    # The flood was real (passwords were checked all along: 401), and each refused attempt
    # came on a connection of its own, closed by the server (a 503 when hashing was busy).
    assert seen[401] >= FLOODERS, seen
    assert set(seen) <= {401, 503}, seen


def test_a_refused_login_closes_its_connection_and_a_page_keeps_it(settings, staff, tmp_path):
    """What keeps a flood from holding the server's connections: each wrong password is
    answered on a connection the server then closes; ordinary pages keep theirs alive."""
    process, base = serve(settings, tmp_path)
    host, port = base.removeprefix("http://").split(":")
    try:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", "/login")
        page = connection.getresponse()
        body = page.read().decode()
        assert page.status == 200 and not page.will_close
        cookie = page.getheader("Set-Cookie", "").split(";")[0]
        form = urllib.parse.urlencode(
            {"username": "nurse1", "password": "not-the-password",
             "csrf_token": CSRF.search(body)[1]}
        ).encode()  # fmt: skip
        with socket.create_connection((host, int(port)), timeout=30) as raw:
            raw.sendall(
                b"POST /login HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (host.encode(), cookie.encode(), len(form), form)
            )
            answer = b""
            # Read until the server closes its end; a kept-alive socket would time out here.
            while chunk := raw.recv(65536):
                answer += chunk
        head = answer.split(b"\r\n\r\n", 1)[0].decode()
        assert head.startswith("HTTP/1.1 401"), head
        assert "Connection: close" in head.split("\r\n")
    finally:
        process.terminate()
        process.wait(timeout=20)
