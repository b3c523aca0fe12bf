"""One settings object, read from the environment (and `.env` if present)."""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Development-only secret; production refuses to start with it (see `_no_dev_secrets`).
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_SANDBOX_SECRET = "dev-only-sandbox-provider-secret-0123456789"
DEV_SMS_GATEWAY_SECRET = "dev-only-sms-gateway-secret-0123456789abcdef"
DEV_PARTNER_SECRET = "dev-only-sandbox-partner-secret-0123456789"
DEV_LOGISTICS_SECRET = "dev-only-logistics-webhook-secret-0123456789"
DEV_PAYOUT_SECRET = "dev-only-sandbox-payout-secret-0123456789"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    # Unset means: start the embedded PostgreSQL / Redis under `data_dir`.
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = PROJECT_ROOT / ".data"

    host: str = "127.0.0.1"
    port: int = 8000
    web_concurrency: int = 1
    db_pool_min: int = 2
    db_pool_max: int = 10

    jwt_secret: str = DEV_JWT_SECRET
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600
    login_attempts_per_phone: int = 5  # per login_window_seconds
    login_attempts_per_ip: int = 30
    login_window_seconds: int = 300
    register_attempts_per_ip: int = 10  # sign-ups per register_window_seconds
    register_window_seconds: int = 3600
    # Comma-separated proxy addresses/networks whose X-Forwarded-For is believed; empty: none,
    # the client address is the peer's.
    trusted_proxies: str = ""

    # GraphQL safety limits
    max_query_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 256 * 1024
    max_ws_message_bytes: int = 64 * 1024     # a bigger websocket message closes the socket (1009)
    max_page_size: int = 100

    # Report SQL statements per request (log field; `x-sql-statements` header outside production).
    count_sql: bool = Field(default=True)
    log_json: bool | None = None  # default: JSON in production, console otherwise
    log_level: str = "INFO"

    # Orders and payments (DOMAIN §5, §7)
    payment_timeout_seconds: int = 30 * 60        # unpaid payment orders are cancelled after this
    auto_confirm_days: int = 10                   # shipped orders are received after this
    review_window_days: int = 7                   # received orders are completed after this
    order_timeout_sweep_seconds: float = 10.0     # how often the worker looks for due orders
    # After-sale (DOMAIN §9, §10.1; docs/aftersale.md)
    aftersale_window_days: int = 15               # after receipt, after-sales may be asked this long
    aftersale_auto_approve_before_shipment: bool = True   # a refund-only before shipment needs no review …
    aftersale_auto_approve_max_amount: int | None = None  # … when its goods amount is at most this (None: any)
    aftersale_merchant_review_days: int = 2       # a request the merchant leaves unanswered is approved after this
    aftersale_return_days: int = 7                # an approved return the buyer never ships is closed after this
    aftersale_escalation_days: int = 7            # a rejection the buyer does not escalate is final after this
    risk_after_sale_max_requests: int = 5         # a buyer with this many after-sales in the window …
    risk_after_sale_window_days: int = 30         # … loses their auto-approval (app/risk/rules.py)
    # Merchants (DOMAIN §10, docs/merchants.md)
    merchant_deposit: int = 500_000               # the deposit (cents) an approval asks unless the reviewer sets one
    merchant_deposit_pay_hours: int = 72          # a deposit payment order is open this long (then ask a new one)
    staff_invitation_hours: int = 72              # an invitation code is good this long
    # The sandbox payment provider (app/sandbox/) and the callbacks it sends; on by default
    # except in production, where turning it on needs a real secret
    sandbox_enabled: bool | None = None
    sandbox_provider_secret: str = DEV_SANDBOX_SECRET
    public_base_url: str | None = None            # where providers reach us; default http://host:port
    callback_tolerance_seconds: int = 300         # signed callbacks older or newer than this are refused

    # The buyer account (app/accounts/, docs/accounts.md): SMS codes at registration, sent
    # through the SMS gateway (default: the sandbox SMS service at base_url + /sandbox/sms)
    registration_requires_sms_code: bool = True
    sms_gateway_url: str | None = None
    sms_gateway_secret: str = DEV_SMS_GATEWAY_SECRET   # signs our requests to the gateway
    sms_code_ttl_seconds: int = 300
    sms_code_max_attempts: int = 5                     # wrong guesses before a code is void
    sms_resend_seconds: int = 60                       # one code per phone and purpose this often
    sms_codes_per_ip: int = 20                         # codes sent per client IP per register_window_seconds
    # Fulfilment (DOMAIN §6): pushes to partner systems, retried with backoff (base × 2^(try−1),
    # at most 60 s) and dead-lettered after `fulfilment_push_max_attempts` tries
    fulfilment_push_max_attempts: int = 5
    fulfilment_push_backoff_seconds: float = 1.0
    fulfilment_push_timeout_seconds: float = 10.0
    fulfilment_sweep_after_seconds: float = 10.0  # a PENDING shipment not pushed after this is pushed again
    fulfilment_push_batch: int = Field(default=100, ge=1)  # shipments of paid orders per push job (pushed concurrently)
    # Sandbox partner systems (warehouses, suppliers): one secret for all of them (the demo rows
    # store it), and their defaults; a signed control call overrides them per partner
    sandbox_partner_secret: str = DEV_PARTNER_SECRET
    sandbox_partner_latency_ms: int = 20
    sandbox_partner_failure_rate: float = 0.0     # share of pushes answered 503
    sandbox_partner_ship_delay_ms: int = 2000     # acknowledgement → shipment notice
    sandbox_carrier_step_ms: int = 2000           # between the sandbox carrier's tracking events
    # Carriers sign their tracking webhooks with this; the development default is refused in production
    logistics_webhook_secret: str = DEV_LOGISTICS_SECRET
    # Consumer credit (app/credit/, docs/credit.md): a rejected applicant may apply again after this
    credit_reapply_days: int = 30
    # bills (§8.1): penalty per overdue day on unpaid principal + fee, after the grace days; the
    # due-soon reminder goes out this many days before the due date
    credit_penalty_daily_rate: Decimal = Decimal("0.0005")
    credit_grace_days: int = 0
    credit_reminder_days: int = 3
    # when a loan is sold to a funder (§8.1): at the credit payment, or once its orders are received
    credit_financing_time: Literal["PAYMENT", "RECEIPT"] = "PAYMENT"
    # Virtual goods (app/topup/): a top-up not recharged this long after payment is refunded;
    # a supplier call not answered within topup_http_timeout_seconds is an unknown outcome
    topup_deadline_seconds: int = 10 * 60
    topup_http_timeout_seconds: float = 5.0
    # the sandbox top-up supplier: its answer time, and how long a "times out" answer hangs
    sandbox_topup_latency_ms: int = 200
    sandbox_topup_hang_seconds: float = 30.0

    # Payouts (app/payouts/, docs/payouts.md): the payout channel signs with this secret (the
    # sandbox's development default is refused in production); an unanswered send is retried
    # with backoff, a payout in transit this long without its callback is asked about
    sandbox_payout_secret: str = DEV_PAYOUT_SECRET
    sandbox_payout_latency_ms: int = 20
    sandbox_payout_callback_delay_ms: int = 200
    payout_http_timeout_seconds: float = 5.0
    payout_sweep_after_seconds: float = 10.0
    payout_query_after_seconds: float = 60.0
    payout_reference_prefix: str = "wd"          # withdrawals' references at the channel: <prefix>-<id>
    # Reconciliation (app/reconciliation/, docs/reconciliation.md): the provider whose daily statement
    # the cron (00:30 UTC: the two days before) matches against our payments and refunds
    reconciliation_provider: str = "sandbox"
    # The merchant score (docs/payouts.md): ratings and after-sale rate over this many days
    merchant_score_window_days: int = 90

    outbox_poll_seconds: float = 0.5
    subscription_auth_recheck_seconds: float = 15.0  # open subscriptions re-check their token this often
    # Anonymous GraphQL query answers are cached this long per process (0 disables);
    # product events clear the cache at once.
    response_cache_seconds: float = 120.0
    response_cache_max_bytes: int = 64 * 1024 * 1024

    # Uploads (docs/API.md "Uploads"): limits checked on the bytes; stored under data_dir/uploads,
    # or in S3-compatible storage when UPLOAD_S3_BUCKET is set
    upload_max_bytes: int = 5 * 1024 * 1024
    upload_max_pixels: int = 25_000_000           # width × height; a bigger image is refused undecoded
    uploads_per_window: int = 60                  # per account
    upload_window_seconds: int = 3600
    upload_s3_endpoint: str | None = None         # e.g. https://s3.eu-west-1.amazonaws.com, a MinIO URL
    upload_s3_bucket: str | None = None
    upload_s3_region: str = "us-east-1"
    upload_s3_access_key: str | None = None       # unset: boto3's own credential chain
    upload_s3_secret_key: str | None = None

    @model_validator(mode="after")
    def _no_dev_secrets(self) -> "Settings":
        if self.env == "production":
            if self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
                raise ValueError("JWT_SECRET must be set to a strong secret in production")
            if self.sandbox_enabled and self.sandbox_provider_secret == DEV_SANDBOX_SECRET:
                raise ValueError("SANDBOX_PROVIDER_SECRET must be set to run the sandbox provider in production")
            if self.sandbox_enabled and self.sms_gateway_secret == DEV_SMS_GATEWAY_SECRET:
                raise ValueError("SMS_GATEWAY_SECRET must be set to run the sandbox SMS gateway in production")
            if self.sandbox_enabled and self.sandbox_partner_secret == DEV_PARTNER_SECRET:
                raise ValueError("SANDBOX_PARTNER_SECRET must be set to run the sandbox partners in production")
            if self.sandbox_enabled and self.sandbox_payout_secret == DEV_PAYOUT_SECRET:
                raise ValueError("SANDBOX_PAYOUT_SECRET must be set to run the sandbox payout channel in production")
            if not self.database_url or not self.redis_url:
                raise ValueError("DATABASE_URL and REDIS_URL are required in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def sql_count_header(self) -> bool:
        """The statement count tells an attacker which requests are expensive: never in production."""
        return self.count_sql and not self.is_production

    def refuse_public_secret(self) -> None:
        """For `ecom serve` and `ecom worker`: the development JWT secret is public, so a server
        runs with it only when ENV=development or ENV=test is set explicitly (`ecom dev` sets it
        for its children). An unset ENV counts as a real deployment."""
        if "env" in self.model_fields_set and self.env in ("development", "test"):
            return
        if self.jwt_secret == DEV_JWT_SECRET or len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be set to a strong secret (32+ characters); "
                             "for a local server set ENV=development or use `ecom dev`")

    @property
    def sandbox_on(self) -> bool:
        return not self.is_production if self.sandbox_enabled is None else self.sandbox_enabled

    @property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def sms_url(self) -> str:
        return self.sms_gateway_url or self.base_url + "/sandbox/sms"

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json


@lru_cache
def get_settings() -> Settings:
    return Settings()
