"""docker-compose.yml, Dockerfile and .dockerignore: what IT runs with `docker compose up`."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click
import pytest
import yaml
from flask import Flask

from shared.cli import main, worker_argv
from shared.config import Settings
from tests.unit.test_settings_used import NOT_USED_YET, fields_read

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SERVICES = {"redis", "postgres", "migrate", "web", "worker"}
# Read by `medtriage users create` through click, not a setting.
NOT_SETTINGS = {"MEDTRIAGE_NEW_PASSWORD"}
# $NAME or ${NAME...} as Compose interpolates it (after `$$` escapes are removed).
INTERPOLATION = re.compile(r"\$(?:\{[A-Za-z_]\w*(?P<rest>[^}]*)\}|(?P<bare>[A-Za-z_]\w*))")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def names_a_command(args: list[str]) -> bool:
    """True when `medtriage ARGS...` reaches a real (non-group) command of the CLI."""
    command: click.Command = main
    for arg in args:
        if not isinstance(command, click.Group):
            break
        found = command.commands.get(arg)
        if found is None:
            return False
        command = found
    return not isinstance(command, click.Group)


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def dockerfile_instruction(name: str) -> list[str]:
    """The last NAME instruction of the Dockerfile as argv ([] when absent)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().upper().startswith(name + " ")]
    if not lines:
        return []
    value = lines[-1][len(name) :].strip()
    return json.loads(value) if value.startswith("[") else shlex.split(value)


def test_compose_file_has_every_service(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the Compose spec has no version key"
    assert set(compose["services"]) >= SERVICES


def test_every_medtriage_command_exists(services: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, service in services.items():
        args = argv(service.get("command", []))
        if args[:1] == ["medtriage"]:
            checked += 1
            assert names_a_command(args[1:]), f"{name}: `{' '.join(args)}` is no medtriage command"
    assert checked >= 3


def test_migrate_upgrades_the_database_once(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert argv(migrate["command"]) == ["medtriage", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["web", "worker"])
def test_starts_after_migrations_and_redis(services: dict[str, dict[str, Any]], name: str) -> None:
    depends_on = services[name]["depends_on"]
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_worker_reserves_one_gpu(services: dict[str, dict[str, Any]]) -> None:
    devices = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(
        d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) and d.get("count") == 1
        for d in devices
    )


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == "migrate":
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def compose_variables() -> set[str]:
    text = COMPOSE.read_text() + DOCKERFILE.read_text()
    return set(re.findall(r"\bMEDTRIAGE_[A-Z0-9_]+", text)) - NOT_SETTINGS


def test_medtriage_variables_are_settings() -> None:
    assert Settings.model_config["env_prefix"] == "MEDTRIAGE_"
    used = compose_variables()
    unknown = {v for v in used if v.removeprefix("MEDTRIAGE_").lower() not in Settings.model_fields}
    assert used and not unknown, f"not settings (silently ignored): {sorted(unknown)}"


def test_medtriage_variables_are_read_or_say_not_used_yet(tmp_path: Path) -> None:
    """A variable the compose file sets must change something, or say that it does not."""
    read = fields_read(Settings(instance_path=tmp_path))
    names = {v.removeprefix("MEDTRIAGE_").lower() for v in compose_variables()}
    ignored = names - read - NOT_USED_YET
    assert not ignored, f"set by docker-compose.yml, read by nothing: {sorted(ignored)}"
    for line in COMPOSE.read_text().splitlines():
        for name in NOT_USED_YET:
            if f"MEDTRIAGE_{name.upper()}" in line:
                assert "not used yet" in line, line


def test_no_variable_left_unset(compose: dict[str, Any]) -> None:
    """Every interpolation has a default or a message; container-side `$` is written `$$`."""
    bad = []
    for value in strings(compose):
        for match in INTERPOLATION.finditer(value.replace("$$", "")):
            if match["bare"] or not re.match(r":?[-?]", match["rest"]):
                bad.append(match[0])
    assert not bad, f"interpolated with no default (use $$ for the container's shell): {bad}"


def test_urls_point_at_the_compose_services(services: dict[str, dict[str, Any]]) -> None:
    postgres = environment(services["postgres"])
    for name in ("migrate", "web", "worker"):
        env = environment(services[name])
        database = urlparse(env["MEDTRIAGE_DATABASE_URL"])
        assert database.scheme == "postgresql+psycopg"
        assert (database.hostname, database.username, database.password) == (
            "postgres",
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
        )
        assert database.path == "/" + postgres["POSTGRES_DB"]
        assert urlparse(env["MEDTRIAGE_REDIS_URL"]).hostname == "redis"


def test_web_listens_on_the_lan_and_checks_healthz(services: dict[str, dict[str, Any]]) -> None:
    from web.health import bp

    web = services["web"]
    env = environment(web)
    port = env.get("MEDTRIAGE_PORT", str(Settings.model_fields["port"].default))
    assert env["MEDTRIAGE_HOST"] == "0.0.0.0"  # noqa: S104 - the terminals are on the LAN
    assert any(str(p).split(":")[-1] == port for p in web["ports"])
    assert f"127.0.0.1:{port}/healthz" in healthcheck_text(web)
    app = Flask(__name__)
    app.register_blueprint(bp)
    assert "/healthz" in {rule.rule for rule in app.url_map.iter_rules()}


def test_worker_healthcheck_pings_its_own_node(services: dict[str, dict[str, Any]]) -> None:
    args = worker_argv(Settings())
    node = args[args.index("-n") + 1]
    assert node.endswith("@%h")
    check = healthcheck_text(services["worker"])
    assert args[args.index("-A") + 1] in check
    assert f"{node.removesuffix('%h')}$$HOSTNAME" in check


def test_worker_image_installs_existing_extras(services: dict[str, dict[str, Any]]) -> None:
    extras = services["worker"]["build"]["args"]["EXTRAS"].split(",")
    known = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "models" in extras
    assert set(extras) <= set(known)


def test_dockerfile_default_command_exists() -> None:
    args = dockerfile_instruction("ENTRYPOINT") + dockerfile_instruction("CMD")
    assert args[:1] == ["medtriage"] and names_a_command(args[1:]), args


def test_image_runs_as_non_root_and_offline() -> None:
    assert dockerfile_instruction("USER")[:1] not in ([], ["root"], ["0"])
    assert re.search(r"\bHF_HUB_OFFLINE=1\b", DOCKERFILE.read_text())


def test_build_context_leaves_out_secrets_and_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "instance", ".git", "tls"} <= ignored


def test_web_serves_https_with_the_certificate_it_mounts(
    services: dict[str, dict[str, Any]],
) -> None:
    """The README's TLS path: cert and key from .env, read from the mounted ./tls folder,
    and a healthcheck that still answers once the port speaks HTTPS."""
    web = services["web"]
    env = environment(web)
    assert env["MEDTRIAGE_TLS_CERT"] == "${MEDTRIAGE_TLS_CERT:-}"
    assert env["MEDTRIAGE_TLS_KEY"] == "${MEDTRIAGE_TLS_KEY:-}"
    mounts = {v.split(":")[-2]: v for v in web["volumes"]}
    assert mounts["/tls"].endswith(":ro")
    header = COMPOSE.read_text().split("services:")[0]
    assert "MEDTRIAGE_TLS_CERT=/tls/" in header and "MEDTRIAGE_TLS_KEY=/tls/" in header
    check = healthcheck_text(web)
    assert "https" in check and "MEDTRIAGE_TLS_CERT" in check
    readme = (ROOT / "README.md").read_text()
    assert "MEDTRIAGE_TLS_CERT" in readme and "docker-compose.yml" in readme


def test_readme_says_docker_compose_up() -> None:
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("no README.md yet")
    assert "docker compose up" in readme.read_text()
