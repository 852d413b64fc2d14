"""The one configuration object, read from the environment (prefix ``XINGCUN_``)."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The steps of the monitoring workflow whose time the reporting service measures.
STAGE_STEPS = ("verification", "deliberation", "township_review", "county_approval", "contact")

ServiceName = Literal["pairing", "monitoring", "reporting", "notification"]
SERVICES: tuple[ServiceName, ...] = ("pairing", "monitoring", "reporting", "notification")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINGCUN_", extra="ignore")

    # A server-level URL; each service keeps its own database on it, named
    # ``<database_prefix><service>`` (DESIGN §1: no service reads another's database).
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    database_prefix: str = "xingcun_"
    nats_url: str = "nats://127.0.0.1:4222"

    # Tests on a shared NATS server give each run its own subject root and stream prefix.
    subject_root: str = "xingcun"
    stream_prefix: str = ""
    # Copies of each stream in a NATS cluster (3 in docker-compose.cluster.yml); 1 on one server.
    stream_replicas: int = Field(default=1, ge=1, le=5)

    auth_secret: str = Field(default="", repr=False)
    token_ttl_hours: int = 12

    max_active_enterprises_per_village: int = 5
    # The counties this deployment serves (6-digit codes, comma-separated): a village's division
    # code must start with one of them.
    counties: str = "150602"
    # How often the pairing service looks for milestones whose due date has passed.
    milestone_check_interval_s: float = 60.0

    # Monitoring (防返贫动态监测). The key personal fields are sealed under (household keys are
    # wrapped with a key derived from it); `xingcun up` keeps one in the data folder.
    personal_data_key: str = Field(default="", repr=False)
    # 监测范围: yuan per person per year by province and year, as JSON; a year without its own
    # line uses the latest earlier one.
    monitoring_lines: dict[str, dict[int, Decimal]] = Field(
        default_factory=lambda: {"15": {2024: Decimal(7300), 2025: Decimal(7600), 2026: Decimal(7900)}}
    )
    # The risk rules and their thresholds, as JSON (services/monitoring/risk.py RiskRules).
    risk_rules: dict[str, Any] = Field(default_factory=dict)
    notice_days: int = Field(default=5, ge=1, description="Days a public notice (公示) lasts")
    contact_within_days: int = Field(default=15, ge=1, description="A contact is assigned within")
    elimination_months: int = Field(default=6, ge=3, description="Months above the line before elimination")

    # Reporting. Supervision cards (红黄绿牌): a milestone overdue is yellow, overdue longer than
    # card_red_overdue_days is red; investment behind the plan by more than card_investment_lag
    # (a share) is yellow; a terminated agreement without a relay is yellow for
    # card_relay_grace_days, then red. The cards are judged every card_check_interval_s.
    card_red_overdue_days: int = Field(default=90, ge=1)
    card_investment_lag: Decimal = Field(default=Decimal("0.3"), ge=0, le=1)
    card_relay_grace_days: int = Field(default=0, ge=0)
    card_check_interval_s: float = 300.0
    # Days each step of the monitoring workflow should take at most (flag → verification, …), as
    # JSON with the keys of STAGE_STEPS; the stage-time table counts the cases over them (a query
    # may set others: GET /tables/stage-times?deadlines=verification=5).
    stage_deadlines: dict[str, int] = Field(
        default_factory=lambda: {
            "verification": 7,
            "deliberation": 7,
            "township_review": 10,
            "county_approval": 10,
            "contact": 15,
        }
    )

    # Notification. Recipients and routing rules put in the directory at start, as JSON
    # {"recipients": [...], "rules": [...]}, each item with a stable "key" (docs/notification.md);
    # an item already in the directory is left as it is.
    notification_seed: dict[str, Any] = Field(default_factory=dict, repr=False)
    # Where a message's link points: the reporting dashboard, with ?region=… (and &table=…).
    notification_link_base: str = "http://127.0.0.1:8103/dashboard"
    # E-mail over SMTP (STARTTLS when smtp_starttls; a login when smtp_username is set).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "xingcun@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    # Webhooks: the secrets bodies are signed with, by the name a recipient's channel gives
    # (``secret_ref``), as JSON {"name": "secret"}; and the timeout of each POST (webhooks and SMS).
    webhook_secrets: dict[str, str] = Field(default_factory=dict, repr=False)
    notification_http_timeout_s: float = Field(default=5.0, gt=0)
    # SMS through an HTTP gateway: POST {"to", "text"} with the token as a bearer; texts longer than
    # sms_max_chars are cut with "…". No URL: SMS cannot be sent (a failure, not retried).
    sms_gateway_url: str = ""
    sms_gateway_token: str = Field(default="", repr=False)
    sms_max_chars: int = Field(default=140, ge=10)
    # Webhooks over plain http:// (a receiver on the same host, a test): refused unless set.
    notification_allow_http_webhooks: bool = False
    # Delivery: tries per message, and the wait before try n+1: base × 2^(n-1), at most max
    # (a receiver's Retry-After is honoured up to max).
    notification_max_attempts: int = Field(default=5, ge=1, le=50)
    notification_backoff_base_s: float = Field(default=30.0, gt=0)
    notification_backoff_max_s: float = Field(default=3600.0, gt=0)
    # How long a claimed try may take before it counts as cut off (the service was killed mid-send);
    # unset: the longest channel timeout + 30 s.
    notification_lease_s: float | None = Field(default=None, gt=0)
    # How often the dispatcher looks for due tries besides being woken; sends at the same time.
    notification_poll_s: float = Field(default=1.0, gt=0)
    notification_max_in_flight: int = Field(default=50, ge=1, le=1000)
    # An event older than this when first routed is not told (a new router reading history).
    notification_max_event_age_h: float = Field(default=48.0, gt=0)
    # Reminders from time: looked for every reminder_check_interval_s; a county's half-year tables
    # from report_days_before days before they are due, a township's quarterly surveys from
    # survey_days_before days before the quarter ends (contacts: stage_deadlines.contact).
    reminder_check_interval_s: float = Field(default=3600.0, gt=0)
    reminder_report_days_before: int = Field(default=7, ge=0, le=60)
    reminder_survey_days_before: int = Field(default=15, ge=0, le=90)

    # Logs of a service process: one JSON object a line (for a collector), or text for a terminal.
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"

    # Consumers: apply attempts before an event is moved to the dead letters.
    max_apply_attempts: int = 5
    consumer_batch_size: int = 200
    # How long an idle consumer's pull request waits for a message before it is renewed. It adds
    # no latency (a waiting request is answered as soon as a message arrives); after a NATS
    # restart a consumer may take this long to notice.
    consumer_idle_wait_s: float = 2.0
    # Unacknowledged deliveries return after this; a batch must apply well within it.
    consumer_ack_wait_s: float = 10.0
    # Relay: rows per publish batch and how long to wait for JetStream's acks.
    relay_batch_size: int = 500
    relay_ack_timeout: float = 5.0

    @field_validator("stage_deadlines")
    @classmethod
    def _known_steps(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(STAGE_STEPS))
        if unknown:
            raise ValueError(f"unknown steps {unknown}; the steps are {list(STAGE_STEPS)}")
        return value

    @property
    def county_codes(self) -> frozenset[str]:
        return frozenset(code.strip() for code in self.counties.split(",") if code.strip())

    def database_name(self, service: ServiceName) -> str:
        return f"{self.database_prefix}{service}"

    def service_database_url(self, service: ServiceName) -> str:
        return replace_database(self.database_url, self.database_name(service))

    @cached_property
    def secret_bytes(self) -> bytes:
        if not self.auth_secret:
            raise RuntimeError("XINGCUN_AUTH_SECRET is not set (xingcun up sets it for you)")
        return self.auth_secret.encode()


def replace_database(url: str, database: str) -> str:
    """Swap the database name of a PostgreSQL URL, keeping host, port and query (e.g. a socket dir)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The asyncpg flavour of a PostgreSQL URL, whatever driver it named."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
