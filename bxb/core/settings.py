"""One Settings class. Every service is embedded unless its address is given.

Environment variables are read without a prefix for the service addresses that operators
already know by name (DATABASE_URL, TEMPORAL_ADDRESS, ...) and with a ``BXB_`` prefix for
bxb's own knobs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default=Path(".bxb"), validation_alias=_env("BXB_DATA_DIR"))

    # PostgreSQL: the ledger. Unset → embedded PostgreSQL under data_dir.
    database_url: str | None = Field(default=None, validation_alias=_env("DATABASE_URL"))
    embedded_postgres_port: int = Field(
        default=5433, validation_alias=_env("BXB_EMBEDDED_POSTGRES_PORT")
    )
    database_pool_size: int = Field(default=10, validation_alias=_env("BXB_DATABASE_POOL_SIZE"))

    # Temporal. Unset address → embedded dev server (with Web UI) under data_dir.
    temporal_address: str | None = Field(default=None, validation_alias=_env("TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field(default="default", validation_alias=_env("TEMPORAL_NAMESPACE"))
    temporal_task_queue: str = Field(default="bxb", validation_alias=_env("TEMPORAL_TASK_QUEUE"))
    embedded_temporal_port: int = Field(
        default=7233, validation_alias=_env("BXB_EMBEDDED_TEMPORAL_PORT")
    )
    temporal_ui_port: int = Field(default=8233, validation_alias=_env("BXB_TEMPORAL_UI_PORT"))
    # Where operators open the Temporal UI (the web app links each subscription's workflow
    # there). Unset: the embedded server's UI on this host, or no link for another server.
    temporal_ui_url: str | None = Field(default=None, validation_alias=_env("BXB_TEMPORAL_UI_URL"))

    # ClickHouse event store (optional). Unset → events live in PostgreSQL.
    clickhouse_url: str | None = Field(default=None, validation_alias=_env("CLICKHOUSE_URL"))

    # Stripe. STRIPE_API_BASE points the SDK elsewhere (localstripe in tests).
    stripe_api_key: str | None = Field(default=None, validation_alias=_env("STRIPE_API_KEY"))
    stripe_api_base: str | None = Field(default=None, validation_alias=_env("STRIPE_API_BASE"))
    stripe_webhook_secret: str | None = Field(
        default=None, validation_alias=_env("STRIPE_WEBHOOK_SECRET")
    )
    # Where Stripe's hosted checkout pages send the payer back (Lago's success_redirect_url).
    stripe_success_url: str = Field(
        default="https://stripe.com/", validation_alias=_env("STRIPE_SUCCESS_URL")
    )

    # HTTP API.
    api_host: str = Field(default="127.0.0.1", validation_alias=_env("BXB_API_HOST"))
    api_port: int = Field(default=8000, validation_alias=_env("BXB_API_PORT"))
    max_body_bytes: int = Field(default=1_048_576, validation_alias=_env("BXB_MAX_BODY_BYTES"))

    # Prometheus: `bxb worker` serves its own /metrics here when set (the API serves its
    # own at /metrics; `bxb up`, one process, has both there). 0 picks a free port.
    worker_metrics_port: int | None = Field(
        default=None, validation_alias=_env("BXB_WORKER_METRICS_PORT")
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", validation_alias=_env("BXB_WORKER_METRICS_HOST")
    )
    # How many workflows a worker keeps in memory between their tasks (Temporal's sticky
    # cache). This, not the number of subscriptions, bounds a worker's memory: a workflow
    # not in the cache is rebuilt from its history when its next task arrives.
    worker_max_cached_workflows: int = Field(
        default=1000, ge=0, validation_alias=_env("BXB_WORKER_MAX_CACHED_WORKFLOWS")
    )

    # When set and the database has no organization yet, `bxb up` creates one with this key.
    bootstrap_api_key: str | None = Field(
        default=None, validation_alias=_env("BXB_BOOTSTRAP_API_KEY")
    )
    log_level: str = Field(default="INFO", validation_alias=_env("BXB_LOG_LEVEL"))
    # How long an API request waits for a subscription's workflow (create, plan change,
    # update, termination, invoice actions, live state) before answering 503 with the error
    # the workflow reports.
    workflow_update_timeout: float = Field(
        default=15.0, gt=0, validation_alias=_env("BXB_WORKFLOW_UPDATE_TIMEOUT")
    )
    # On shutdown: how long requests in flight and running activities get to finish.
    shutdown_timeout: float = Field(
        default=10.0, gt=0, validation_alias=_env("BXB_SHUTDOWN_TIMEOUT")
    )
    # A worker process's slots: tasks beyond them wait on the server, not in the worker's
    # event loop, where a backlog delays heartbeats. With Temporal's default of 100
    # activities, a billing cycle on a loaded machine timed out 1,682 heartbeats for 300
    # invoices (each attempt retried); with 20, none (bench/README.md, Billing cycle).
    worker_max_activities: int = Field(
        default=20, gt=0, validation_alias=_env("BXB_WORKER_MAX_ACTIVITIES")
    )
    worker_max_workflow_tasks: int = Field(
        default=100, gt=1, validation_alias=_env("BXB_WORKER_MAX_WORKFLOW_TASKS")
    )
    # How long advancing a test clock may take before it reports the subscriptions still busy.
    test_clock_advance_timeout: float = Field(
        default=120.0, validation_alias=_env("BXB_TEST_CLOCK_ADVANCE_TIMEOUT")
    )
    # Outgoing webhooks: each attempt's timeout, the first retry's delay (doubling up to an
    # hour between attempts) and the number of attempts before a delivery is marked failed.
    webhook_timeout: float = Field(default=10.0, gt=0, validation_alias=_env("BXB_WEBHOOK_TIMEOUT"))
    webhook_retry_initial_interval: float = Field(
        default=5.0, gt=0, validation_alias=_env("BXB_WEBHOOK_RETRY_INITIAL_INTERVAL")
    )
    webhook_max_attempts: int = Field(
        default=12, ge=1, validation_alias=_env("BXB_WEBHOOK_MAX_ATTEMPTS")
    )

    # Usage reactions (issue 10): at most one `usage_arrived` signal per subscription per
    # this many milliseconds, and how long the watcher trusts which subscriptions care.
    usage_signal_window_ms: int = Field(
        default=200, ge=0, validation_alias=_env("BXB_USAGE_SIGNAL_WINDOW_MS")
    )
    # At most this many usage signals a second per API process (windows stretch under load).
    usage_signals_per_second: float = Field(
        default=100.0, ge=0, validation_alias=_env("BXB_USAGE_SIGNALS_PER_SECOND")
    )
    usage_interest_ttl_seconds: float = Field(
        default=5.0, ge=0, validation_alias=_env("BXB_USAGE_INTEREST_TTL_SECONDS")
    )

    # Customer portal (issue 11). BXB_PUBLIC_URL is where customers reach bxb (the base of
    # portal URLs; unset → http://{api_host}:{api_port}). BXB_PORTAL_SECRET signs portal
    # tokens (unset → a secret per organization stored in the database, shared by every API
    # process); on rotation the old one goes to BXB_PORTAL_PREVIOUS_SECRETS (comma-separated)
    # and still verifies tokens until it is removed (keep it one token lifetime).
    public_url: str | None = Field(default=None, validation_alias=_env("BXB_PUBLIC_URL"))
    # Webhooks signed with Lago's jwt algorithm (RS256): the deployment's RSA private key, as
    # base64 of its PEM (as Lago's LAGO_RSA_PRIVATE_KEY). Unset → made on first use and kept
    # in data_dir/keys/webhook_rsa_private.pem (set it when API and worker hosts differ).
    webhook_rsa_private_key: str | None = Field(
        default=None, validation_alias=_env("BXB_WEBHOOK_RSA_PRIVATE_KEY")
    )
    portal_secret: str | None = Field(
        default=None, min_length=32, validation_alias=_env("BXB_PORTAL_SECRET")
    )
    portal_previous_secrets: str | None = Field(
        default=None, validation_alias=_env("BXB_PORTAL_PREVIOUS_SECRETS")
    )
    portal_token_ttl_seconds: int = Field(
        default=3600, gt=0, validation_alias=_env("BXB_PORTAL_TOKEN_TTL_SECONDS")
    )
    # Audit trail (issue 12): activity and API logs older than this many days are deleted
    # by a daily Temporal schedule (three years by default, as the seed documents ask).
    audit_retention_days: int = Field(
        default=1095, gt=0, validation_alias=_env("BXB_AUDIT_RETENTION_DAYS")
    )
    # API logs (POST/PUT/DELETE to /api/v1, written in batches after the answer): on by
    # default; off leaves the requests unrecorded (bench/ingest.py measures both).
    api_logs_enabled: bool = Field(default=True, validation_alias=_env("BXB_API_LOGS"))

    # Members (issue 12). Email: BXB_SMTP_HOST unset → mails are logged, not sent.
    # BXB_SMTP_SECURITY: "starttls" (default), "ssl" (implicit TLS) or "none".
    smtp_host: str | None = Field(default=None, validation_alias=_env("BXB_SMTP_HOST"))
    smtp_port: int = Field(default=587, validation_alias=_env("BXB_SMTP_PORT"))
    smtp_from: str = Field(default="bxb@localhost", validation_alias=_env("BXB_SMTP_FROM"))
    smtp_username: str | None = Field(default=None, validation_alias=_env("BXB_SMTP_USERNAME"))
    smtp_password: str | None = Field(default=None, validation_alias=_env("BXB_SMTP_PASSWORD"))
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", validation_alias=_env("BXB_SMTP_SECURITY")
    )
    smtp_timeout: float = Field(default=10.0, gt=0, validation_alias=_env("BXB_SMTP_TIMEOUT"))
    # Browser sessions last this long from sign-in; the cookie is Secure when the request
    # came over https, or always (true) / never (false) when set.
    session_ttl_seconds: int = Field(
        default=12 * 3600, gt=0, validation_alias=_env("BXB_SESSION_TTL_SECONDS")
    )
    session_cookie_secure: bool | None = Field(
        default=None, validation_alias=_env("BXB_SESSION_COOKIE_SECURE")
    )
    invitation_ttl_seconds: int = Field(
        default=7 * 86400, gt=0, validation_alias=_env("BXB_INVITATION_TTL_SECONDS")
    )
    password_reset_ttl_seconds: int = Field(
        default=3600, gt=0, validation_alias=_env("BXB_PASSWORD_RESET_TTL_SECONDS")
    )

    # Rate limits (issue 12): requests per key and route class in fixed windows of
    # `period` seconds; organizations override them through /api/v1/rate_limits.
    rate_limits_enabled: bool = Field(default=True, validation_alias=_env("BXB_RATE_LIMITS"))
    rate_limit_events: int = Field(
        default=120_000, ge=1, validation_alias=_env("BXB_RATE_LIMIT_EVENTS")
    )
    rate_limit_reads: int = Field(
        default=6_000, ge=1, validation_alias=_env("BXB_RATE_LIMIT_READS")
    )
    rate_limit_writes: int = Field(
        default=3_000, ge=1, validation_alias=_env("BXB_RATE_LIMIT_WRITES")
    )
    rate_limit_period: int = Field(
        default=60, ge=1, le=3600, validation_alias=_env("BXB_RATE_LIMIT_PERIOD")
    )
    # How often each process adds its local counts to the shared counters (milliseconds).
    rate_limit_sync_ms: int = Field(
        default=250, ge=10, validation_alias=_env("BXB_RATE_LIMIT_SYNC_MS")
    )
    # Idempotency-Key: how long a duplicate waits for the first request before a 409.
    idempotency_wait_seconds: float = Field(
        default=5.0, ge=0, validation_alias=_env("BXB_IDEMPOTENCY_WAIT_SECONDS")
    )

    # Tracing (OpenTelemetry), off unless an OTLP endpoint is given: the standard variables
    # operators already set for every service. OTEL_EXPORTER_OTLP_ENDPOINT is the collector's
    # base URL (traces go to <it>/v1/traces); OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, when set, is
    # the full URL used as is. OTEL_SDK_DISABLED=true turns tracing off whatever is set.
    # OTEL_SERVICE_NAME replaces the process's own name (bxb, bxb-api, bxb-worker).
    # See docs/tracing.md.
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        default=None, validation_alias=_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )
    otel_exporter_otlp_protocol: str = Field(
        default="http/protobuf",
        validation_alias=_env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
    )
    otel_service_name: str | None = Field(default=None, validation_alias=_env("OTEL_SERVICE_NAME"))
    otel_sdk_disabled: bool = Field(default=False, validation_alias=_env("OTEL_SDK_DISABLED"))

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @cached_property
    def resolved_database_url(self) -> str:
        """SQLAlchemy URL (asyncpg driver) of the ledger, embedded or external."""
        if self.database_url is None:
            return f"postgresql+asyncpg://postgres@127.0.0.1:{self.embedded_postgres_port}/bxb"
        return normalize_database_url(self.database_url)

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def otel_traces_url(self) -> str | None:
        """Where spans are exported (OTLP over HTTP); None when tracing is off."""
        if self.otel_sdk_disabled:
            return None
        if self.otel_exporter_otlp_traces_endpoint:
            return self.otel_exporter_otlp_traces_endpoint
        if self.otel_exporter_otlp_endpoint:
            return self.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return None

    @property
    def resolved_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.embedded_temporal_port}"


def normalize_database_url(url: str) -> str:
    """Accept the usual postgres:// spellings and select the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://...")
