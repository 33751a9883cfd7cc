"""The one place that reads the environment: every setting is `MEDTRIAGE_<NAME>`."""

from __future__ import annotations

import functools
import os
import secrets
import zoneinfo
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_INSTANCE = Path.cwd() / "instance"


class Settings(BaseSettings):
    """Configuration for web, worker and CLI; tests build it explicitly."""

    model_config = SettingsConfigDict(env_prefix="MEDTRIAGE_", extra="ignore")

    instance_path: Path = Field(DEFAULT_INSTANCE, description="folder for SQLite, secret key")
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite in instance_path")
    redis_url: str = "redis://127.0.0.1:6379/0"
    secret_key: str = Field("", description="empty = generated once into instance_path")
    host: str = "127.0.0.1"
    port: int = 5000
    web_workers: int = Field(4, description="gunicorn worker processes")
    web_threads: int = Field(4, description="threads per gunicorn worker")

    # Transport: HTTPS from gunicorn itself, or from a reverse proxy in front (README: TLS)
    tls_cert: str = Field("", description="PEM certificate (chain) file; with tls_key: HTTPS")
    tls_key: str = Field("", description="PEM private key file of tls_cert")
    tls_proxy: bool = Field(False, description="a proxy in front terminates TLS (X-Forwarded-*)")
    metrics_token: str = Field("", description="bearer token for /metrics; empty = localhost only")

    # Queue and worker
    queue_name: str = "triage"
    task_soft_time_limit_s: int = 240
    task_time_limit_s: int = 300
    visibility_timeout_s: int = Field(3600, description="must exceed task_time_limit_s")
    max_attempts: int = Field(3, description="analysis attempts before a case is failed")
    lease_ttl_s: int = Field(30, description="a running case with no lease this long is re-sent")
    reconcile_interval_s: float = 10.0
    queued_grace_s: float = Field(15.0, description="queued with no dispatch marker this long")
    pipeline: str = Field("clinical-text", description="registry name or 'module:Class'")

    # Board: waiting-time targets per acuity level (CTAS), in minutes
    target_minutes_1: int = Field(0, ge=0, description="1 resuscitation: at once")
    target_minutes_2: int = Field(15, ge=0, description="2 emergent")
    target_minutes_3: int = Field(30, ge=0, description="3 urgent")
    target_minutes_4: int = Field(60, ge=0, description="4 less urgent")
    target_minutes_5: int = Field(120, ge=0, description="5 non-urgent")
    board_poll_ms: int = 3000
    board_page_size: int = Field(
        100, ge=10, description="rows of levels 3-5 per board page; levels 1-2 are all shown"
    )

    # Case lifecycle: where patients are, and the clock staff read times in (UTC is kept in
    # the API and the audit trail)
    areas: str = Field("waiting room, resus, majors, minors", description="comma-separated")
    timezone: str = Field("UTC", description="IANA name, e.g. Europe/London")

    # Model-backed pipeline (pipeline = model-text; README: Models). Profiles are named in
    # shared/inference/profiles.py; nothing is ever downloaded.
    model_chain: str = Field("", description="profiles tried in order; end with deterministic")
    models_dir: str = Field("models", description="folder holding the profiles' model folders")
    text_model_path: str = Field("", description="folder for the chain's first local profile")
    image_model_path: str = Field("", description="folder replacing the image encoder's")
    quantization: str = Field("", description="empty = the profile's; none, 8bit or 4bit")
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    model_base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible")
    model_api_key: str = Field("", description="the server's key, if it was started with one")
    model_timeout_s: float = Field(60.0, gt=0, description="one request to the model server")
    model_retries: int = Field(2, ge=0, description="retries of a failed server request")
    model_max_new_tokens: int = Field(0, ge=0, description="0 = the profile's limit")
    model_threads: int = Field(0, ge=0, description="CPU threads for torch; 0 = half the cores")
    model_cache_size: int = Field(256, ge=0, description="outputs kept per worker; 0 = none")
    model_constrained: bool = Field(True, description="decode to the JSON schema")
    model_load_timeout_s: float = Field(900, gt=0, description="a worker's model load and warm-up")
    # Batching and long notes (README: Models, batching and long notes)
    model_batch_size: int = Field(1, ge=1, le=64, description="queued cases a worker runs at once")
    model_server_concurrency: int = Field(4, ge=1, le=256, description="requests in flight")
    model_max_input_tokens: int = Field(0, ge=0, description="0 = the profile's context limit")
    model_long_note: Literal["shorten", "skip"] = Field(
        "shorten", description="a prompt over the limit: shorten the note, or skip the model"
    )
    # Image + text (shared/pipelines/multimodal.py): a case with images is also read by this
    # chain's first multimodal profile that loads; empty = off (quality and encoder only).
    multimodal_chain: str = Field("", description="image+text profiles; end with deterministic")

    # Images (shared/imaging; README: Images): checked at intake, analysed by the worker
    image_dir: str = Field("", description="stored images; empty = instance_path/images")
    image_max_bytes: int = Field(20 * 1024 * 1024, gt=0, description="one upload, in bytes")
    image_max_pixels: int = Field(40_000_000, gt=0, description="decoded pixels (bombs)")
    image_max_count: int = Field(4, ge=1, description="images per case")
    image_keep_original: bool = Field(False, description="also keep the upload as sent")
    image_encoder: str = Field("", description="encoder profile; empty = quality only")
    image_view_weights: str = Field(
        "", description="torchxrayvision's chest X-ray view classifier weights file; empty = off"
    )
    image_similar_count: int = Field(3, ge=0, description="similar earlier cases shown; 0 = off")

    # Site calibration (shared/calibration; README: Site calibration)
    calibration_min_events: int = Field(
        100, ge=1, description="critical outcomes in the training data before activation"
    )
    calibration_threshold: float = Field(
        0.3, gt=0, lt=1, description="a probability above this makes the level one more urgent"
    )
    calibration_admission_outcome: bool = Field(
        False, description="count any admission as a critical outcome, not only HDU/ICU/death"
    )

    # Login sessions (server-side, in Redis; see shared/sessions.py)
    idle_lock_minutes: float = Field(
        10, gt=0, description="a terminal locks, and its session ends, after this long idle"
    )
    session_max_hours: float = Field(12, gt=0, description="a login lasts at most this long")

    # Login throttling (flask-limiter notation, kept in Redis so every web process agrees)
    login_limit_user: str = Field(
        "5 per 5 minutes", description="failed logins per username before a temporary lockout"
    )
    login_limit_address: str = Field(
        "20 per 5 minutes", description="failed logins per client address before a lockout"
    )
    password_hash_slots: int = Field(
        2, gt=0, description="password hashes (argon2) run at once per web process, at most"
    )
    password_hash_wait_s: float = Field(
        0.5, ge=0, description="a login waits this long for a hashing slot, then 503"
    )
    token_days: int = Field(90, ge=1, le=365, description="default lifetime of a new API token")

    # Audit chain (shared/audit.py): the HMAC key is never stored in the database, and the
    # worker appends each sealed head to an append-only file outside it
    audit_key: str = Field(
        "", description="HMAC key of the audit chain; empty = generated once into instance_path"
    )
    audit_anchor_path: str = Field(
        "", description="append-only file of sealed heads; empty = instance_path/audit-anchor.log"
    )

    # FHIR out (shared/interop/fhir.py; README: FHIR and OpenAPI): the site's own systems
    fhir_patient_system: str = Field(
        "urn:medtriage:patient-ref", description="identifier system of the nurse's patient ref"
    )
    fhir_acuity_system: str = Field(
        "urn:medtriage:CodeSystem:acuity", description="local CodeSystem of acuity 1-5"
    )

    # HL7 v2 in (shared/interop/hl7_apply.py; README: HL7 v2 in): who may send
    hl7_senders: str = Field(
        "", description="MSH-3^MSH-4 pairs allowed, comma-separated; empty = refuse every message"
    )
    hl7_allowed_addresses: str = Field(
        "", description="source IPs/CIDRs allowed, comma-separated; empty = any address"
    )

    # First admin, created by `medtriage up` on an empty database
    admin_username: str = "admin"
    admin_password: str = ""

    @model_validator(mode="after")
    def _limits_are_consistent(self) -> Settings:
        # Redis redelivers an unacknowledged task after the visibility timeout: if that came
        # before the hard time limit, a slow case would run twice at once.
        if not self.task_soft_time_limit_s < self.task_time_limit_s < self.visibility_timeout_s:
            raise ValueError(
                "need task_soft_time_limit_s < task_time_limit_s < visibility_timeout_s"
            )
        if self.quantization not in ("", "none", "8bit", "4bit"):
            raise ValueError("quantization must be empty (the profile's), none, 8bit or 4bit")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone {self.timezone!r} is not an IANA time zone") from exc
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key: set both (HTTPS) or neither")
        from limits import parse  # the notation flask-limiter reads

        for name in ("login_limit_user", "login_limit_address"):
            try:
                parse(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name}: a limit like '5 per 5 minutes' ({exc})") from exc
        if self.audit_key and len(self.audit_key) < 32:
            raise ValueError("audit_key: use at least 32 characters (openssl rand -hex 32)")
        if not self.area_list():
            raise ValueError("areas: name at least one area")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.instance_path / 'medtriage.db').resolve()}"

    @property
    def tls_enabled(self) -> bool:
        """Browsers reach us over HTTPS: gunicorn's own certificate or a TLS proxy."""
        return bool(self.tls_cert) or self.tls_proxy

    @property
    def anchor_file(self) -> Path:
        return (
            Path(self.audit_anchor_path)
            if self.audit_anchor_path
            else (self.instance_path / "audit-anchor.log")
        )

    def target_minutes(self) -> dict[int, int]:
        """Minutes each acuity level (1-5) may wait."""
        return {
            1: self.target_minutes_1,
            2: self.target_minutes_2,
            3: self.target_minutes_3,
            4: self.target_minutes_4,
            5: self.target_minutes_5,
        }

    def area_list(self) -> list[str]:
        """The configured areas, in order, without blanks or repeats."""
        return list(dict.fromkeys(a.strip() for a in self.areas.split(",") if a.strip()))

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the instance folder."""
        return self.secret_key or self.instance_secret("secret_key")

    def instance_secret(self, name: str) -> str:
        """A random secret kept in the instance folder (0600 in 0700), made on first use."""
        path = self.instance_path / name
        self.instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # O_EXCL: when several processes start at once, exactly one writes the secret.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return path.read_text().strip()


@functools.cache
def get_settings() -> Settings:
    return Settings()
