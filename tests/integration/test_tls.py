"""TLS as a clinic turns it on: a real gunicorn with a certificate, or a TLS proxy in front."""

from __future__ import annotations

import http.client
import http.cookiejar
import re
import socket
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings
from tests.conftest import PASSWORD, Staff
from tests.support.services import WebServer, free_port, wait_for
from web import create_app

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, made as a site would."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[WebServer]]:
    started: list[WebServer] = []
    yield started
    for server in started:
        server.stop()


def serve(
    servers: list[WebServer], settings: Settings, tmp_path: Path, **changes: object
) -> WebServer:
    name = f"web{len(servers)}"
    own = settings.model_copy(
        update={
            "port": free_port(),
            "web_workers": 2,
            "web_threads": 2,
            "instance_path": tmp_path / name / "instance",
            **changes,
        }
    )
    (tmp_path / name).mkdir()
    server = WebServer(own, tmp_path / name, home=tmp_path / "home")
    servers.append(server)
    server.start()
    return server


def test_https_login_with_secure_cookie_and_hsts(
    settings: Settings,
    staff: dict[str, Staff],
    certificate: tuple[Path, Path],
    servers: list[WebServer],
    tmp_path: Path,
) -> None:
    cert, key = certificate
    server = serve(servers, settings, tmp_path, tls_cert=str(cert), tls_key=str(key))
    assert server.url.startswith("https://")
    context = ssl.create_default_context(cafile=str(cert))
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(
        urllib.request.HTTPSHandler(context=context), urllib.request.HTTPCookieProcessor(jar)
    )
    page = browser.open(f"{server.url}/login", timeout=10)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in page.headers["Set-Cookie"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
    assert token
    form = urllib.parse.urlencode(
        {"username": staff["nurse"].username, "password": PASSWORD, "csrf_token": token[1]}
    ).encode()
    # A browser sends the Referer; over HTTPS the CSRF check insists on it.
    request = urllib.request.Request(
        f"{server.url}/login", data=form, headers={"Referer": f"{server.url}/login"}
    )
    board = browser.open(request, timeout=10)
    assert board.url.endswith("/"), board.url
    assert "Board" in board.read().decode()
    assert board.headers["Cache-Control"] == "no-store"
    assert all(cookie.secure for cookie in jar if cookie.name == "medtriage_session")
    # Nothing answers in clear text on the HTTPS port.
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://127.0.0.1:{server.settings.port}/healthz", timeout=5)
    assert "MedTriage serves" not in server.log()


def test_plain_http_beyond_localhost_warns_at_start(
    settings: Settings, servers: list[WebServer], tmp_path: Path
) -> None:
    local = serve(servers, settings, tmp_path, host="127.0.0.1")
    lan = serve(servers, settings, tmp_path, host="0.0.0.0")  # noqa: S104 - what clinics set
    assert "MedTriage serves" not in local.log()
    assert "MedTriage serves 0.0.0.0" in lan.log() and "MEDTRIAGE_TLS_CERT" in lan.log()
    with urllib.request.urlopen(f"{lan.url}/login", timeout=10) as page:
        assert "Strict-Transport-Security" not in page.headers  # HSTS only over HTTPS
        assert "Secure" not in page.headers["Set-Cookie"]


def test_each_instance_has_its_own_control_socket(
    settings: Settings, servers: list[WebServer], tmp_path: Path
) -> None:
    first = serve(servers, settings, tmp_path)
    second = serve(servers, settings, tmp_path)
    sockets = []
    for server in (first, second):
        path = server.settings.instance_path / f"gunicorn-{server.settings.port}.ctl"
        wait_for(path.is_socket, 10, f"the control socket {path.name}")
        assert path.stat().st_mode & 0o077 == 0
        sockets.append(path)
    assert sockets[0] != sockets[1]
    # gunicorn's default, one path in the home folder that the second instance would take
    # over from the first, is not used.
    assert not (tmp_path / "home" / ".gunicorn" / "gunicorn.ctl").exists()
    for path in sockets:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))  # each answers for its own instance


def test_tls_proxy_in_front(settings: Settings) -> None:
    """Behind a proxy that terminates TLS: the forwarded scheme makes cookies Secure and
    turns HSTS on; a direct plain request (no proxy header) gets no HSTS."""
    app = create_app(settings.model_copy(update={"tls_proxy": True}), {"TESTING": True})
    client = app.test_client()
    proxied = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in proxied.headers["Set-Cookie"]
    direct = client.get("/login")
    assert "Strict-Transport-Security" not in direct.headers
    app.extensions["db_engine"].dispose()
