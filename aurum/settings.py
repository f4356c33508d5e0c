"""Aurum's one settings module.

Everything comes from the environment (an optional `.env` file is read first). Without any
configuration the embedded defaults apply: SQLite, local-memory cache, in-memory
channel layer and files under `var/`. `AURUM_ENV=prod` refuses to start without the real
services.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from aurum.secretkey import KeyFileError, installation_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

load_dotenv(BASE_DIR / ".env", override=False)
VAR_DIR.mkdir(exist_ok=True)


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if not value:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


AURUM_ENV = env("AURUM_ENV", "dev")
if AURUM_ENV not in {"dev", "test", "prod"}:
    raise ImproperlyConfigured("AURUM_ENV must be dev, test or prod")
PROD = AURUM_ENV == "prod"

# No key in the repository signs anything: without SECRET_KEY an installation signs with a
# random key of its own, made on first start and kept in var/secret_key (0600; aurum.secretkey).
# Production refuses to start without SECRET_KEY instead (below).
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY and not PROD:
    try:
        SECRET_KEY = installation_key(VAR_DIR / "secret_key")
    except KeyFileError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
DEBUG = env_bool("DEBUG", not PROD)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PROD else "localhost,127.0.0.1,[::1],testserver")
DATABASE_URL = env("DATABASE_URL")
REDIS_URL = env("REDIS_URL")

if PROD:
    missing = []
    if len(SECRET_KEY) < 50:
        missing.append("SECRET_KEY (at least 50 random characters)")
    if not DATABASE_URL.startswith(("postgres://", "postgresql://")):
        missing.append("DATABASE_URL (PostgreSQL)")
    if not REDIS_URL.startswith(("redis://", "rediss://")):
        missing.append("REDIS_URL")
    if not ALLOWED_HOSTS:
        missing.append("ALLOWED_HOSTS")
    if DEBUG:
        missing.append("DEBUG off")
    if 0 < len(env("METRICS_TOKEN")) < 32:
        missing.append("METRICS_TOKEN of at least 32 characters (or none)")
    if missing:
        raise ImproperlyConfigured("AURUM_ENV=prod needs: " + ", ".join(missing))

INSTALLED_APPS = [
    "daphne",
    "aurum.apps.AurumAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "profiles",
    "onboarding",
    "moderation",
    "matching",
    "chat",
    "media",
    "notifications",
    "deliveries",
]

MIDDLEWARE = [
    "aurum.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "aurum.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "aurum.middleware.AdminTimeZoneMiddleware",
    "aurum.api_errors.ApiErrorMiddleware",
]

ROOT_URLCONF = "aurum.urls"
ASGI_APPLICATION = "aurum.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# WAL lets readers run while one writer commits; NORMAL sync is safe with WAL. IMMEDIATE takes
# the write lock at BEGIN, so two writers queue instead of failing at their first write.
_SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if DATABASE_URL:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _db["OPTIONS"] = dict(_SQLITE_OPTIONS)
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # psycopg 3's pool replaces persistent connections; Django needs CONN_MAX_AGE = 0 with it.
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": int(env("DB_POOL_MIN", "1")),
            "max_size": int(env("DB_POOL_MAX", "10")),
            "timeout": 10,
        }
        # A connection PostgreSQL dropped (a restart, a failover, pg_terminate_backend) is
        # found out when it leaves the pool (Django then gives the pool psycopg's check), not
        # by the request handed it: one round trip a checkout; bench/faults.py counted a 500
        # per worker without it.
        _db["CONN_HEALTH_CHECKS"] = True
        # No JIT: it compiled the dashboard's interest count (107 functions, ~61 ms) for a
        # query that runs in a millisecond. Short OLTP statements never win it back.
        _db["OPTIONS"]["options"] = " ".join(
            filter(None, [_db["OPTIONS"].get("options"), "-c jit=off"])
        )
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "aurum.sqlite3",
            "OPTIONS": dict(_SQLITE_OPTIONS),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, rate limits and channel layer --------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "aurum",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    # The channel layer: "pubsub" (channels-redis's pub/sub layer, the default) or "core"
    # (its list-based layer). README "Chat and calls" has the measurements that chose it.
    CHANNEL_LAYER = env("CHANNEL_LAYER", "pubsub")
    if CHANNEL_LAYER not in {"pubsub", "core"}:
        raise ImproperlyConfigured("CHANNEL_LAYER must be pubsub or core")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "aurum.layers.PubSubLayer",  # channels-redis's, publishing in pipelines
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "aurum"},
        }
        if CHANNEL_LAYER == "pubsub"
        else {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, the same time the layer blocks
                # waiting for messages: idle WebSockets would die (channels_redis #422).
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": "aurum",
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # django-ratelimit refuses local memory (E003) because it is per process; the embedded
    # default is one process by definition, so the counts are exact there.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

RATELIMIT_USE_CACHE = "default"
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)

# Each limit is "<count>/<period>" (s, m, h, d; "5/15m" is 5 per 15 minutes). Override any one
# from the environment as RATE_<NAME>, e.g. RATE_LOGIN_IDENTIFIER=10/15m.
_RATE_DEFAULTS = {
    # Tight per account: guessing passwords for one member.
    # Every attempt counts (atomically), keyed by the account whatever the identifier's form.
    "login_identifier": "10/15m",
    # Loose per address: carrier-grade NAT puts many Indian mobile members behind one IP.
    "login_ip": "100/15m",
    # Every SMS costs money: per phone per hour and per day, and per address.
    "otp_send_phone_hour": "3/h",
    "otp_send_phone_day": "10/d",
    "otp_send_ip": "30/h",
    # Guessing a one-time code (phone login, password reset): per phone/email, per address.
    "code_verify_identifier": "10/h",
    "code_verify_ip": "60/h",
    "register_ip": "20/h",
    "password_reset_identifier": "5/h",
    "password_reset_ip": "30/h",
    "mfa_verify_user": "10/15m",
    # Guessing the password (or a code) of a signed-in account to delete it.
    "account_delete_user": "5/h",
    # A full copy of a member's data is a heavy read.
    "account_export_user": "10/h",
    # Reports a member may file: enough for real trouble, too few to flood the moderators.
    "report_user": "20/d",
    # Chat messages a member may send: brisk typing passes, a flood does not.
    "chat_message": "60/m",
    # Photo uploads (refused ones too): a new member's ten photos and retries pass; each one
    # is decoded and encoded three times, so a flood does not.
    "photo_upload_user": "30/h",
    # Socket frames per member, all their sockets together: a typing signal a second, a read
    # mark for every message of several lively chats; past it a frame gets `rate_limited`.
    "chat_typing": "60/m",
    "chat_read": "120/m",
    # Calls a member may place: redialling a dropped call passes, an invite/hang-up loop
    # rings no more than this.
    "chat_call_invite": "10/10m",
    # Missed-call notifications (and pushes) from one caller to one callee: the call history
    # keeps every missed call.
    "chat_missed_call_notice": "1/10m",
}
AURUM_RATE_LIMITS = {
    name: env(f"RATE_{name.upper()}", default) for name, default in _RATE_DEFAULTS.items()
}

# Addresses (or CIDR ranges) of reverse proxies whose X-Forwarded-For is believed.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

# --- Storage --------------------------------------------------------------------------------
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
S3_BUCKET = env("S3_BUCKET")
S3_ENDPOINT_URL = env("S3_ENDPOINT_URL")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "access_key": env("S3_ACCESS_KEY") or None,
            "secret_key": env("S3_SECRET_KEY") or None,
            "region_name": env("S3_REGION", "us-east-1"),
            "addressing_style": "path" if S3_ENDPOINT_URL else None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            # Presigned URLs are made only by media's signed view, for a redirect followed at
            # once (media.signing.PRESIGNED_TTL); the apps never hold one.
            "querystring_expire": 60,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
# Interests a member may send in any 24 hours; a re-send after a withdraw counts again.
MATCHING_INTERESTS_PER_DAY = int(env("MATCHING_INTERESTS_PER_DAY", "30"))
# After a decline, the days before its sender may send that member an interest again.
MATCHING_RESEND_AFTER_DECLINE_DAYS = int(env("MATCHING_RESEND_AFTER_DECLINE_DAYS", "30"))
# A share of compiled statements (0 to 1) also run as plain querysets and compared
# (aurum.statements); the test suite and CI's fuzz run check every one.
STATEMENTS_CHECK = float(env("AURUM_STATEMENTS_CHECK", "0"))
# Digests: how often the schedule looks for members due one (also the "immediate" slot), how
# many matches one names at most, and the feed score a match needs to be named.
MATCHING_DIGEST_EVERY_SECONDS = int(env("MATCHING_DIGEST_EVERY_SECONDS", "900"))
MATCHING_DIGEST_SIZE = int(env("MATCHING_DIGEST_SIZE", "5"))
MATCHING_DIGEST_MIN_SCORE = int(env("MATCHING_DIGEST_MIN_SCORE", "60"))
MATCHING_FEED_TTL = int(env("MATCHING_FEED_TTL", "120"))  # seconds a feed page stays cached
# Seconds a photo URL handed to the apps lives. A block or a privacy change ends it at once
# (media.signing); the lifetime only bounds a copied URL. A quarter of an hour covers a list
# being scrolled; the apps fetch a list or profile again for fresh URLs after that.
MEDIA_URL_TTL = int(env("MEDIA_URL_TTL", "900"))
# Chat and calls. A connection not refreshed for CHAT_PRESENCE_STALE seconds (its server
# stopped) no longer makes its member online; each server refreshes its own every
# CHAT_PRESENCE_REFRESH seconds.
CHAT_PRESENCE_STALE = int(env("CHAT_PRESENCE_STALE", "90"))
CHAT_PRESENCE_REFRESH = int(env("CHAT_PRESENCE_REFRESH", "30"))
CHAT_CALL_RING_SECONDS = int(env("CHAT_CALL_RING_SECONDS", "45"))  # then the call is missed
CHAT_RING_OUT_EVERY_SECONDS = float(env("CHAT_RING_OUT_EVERY_SECONDS", "10"))  # the schedule
CHAT_MAX_SDP_BYTES = int(env("CHAT_MAX_SDP_BYTES", "16384"))
# Open sockets per member across /ws/chat and /ws/call (a phone, a tablet and a browser need
# a few each); the one over the cap is closed with 4429.
CHAT_MAX_SOCKETS = int(env("CHAT_MAX_SOCKETS", "10"))
# coturn's REST API (static-auth-secret): the shared secret, the relay's URIs, and how long
# a pair of credentials lasts.
TURN_SECRET = env("TURN_SECRET")
TURN_URIS = env_list("TURN_URIS")
TURN_TTL = int(env("TURN_TTL", "86400"))
# The public origin (e.g. https://api.aurum.example) that makes file URLs absolute.
AURUM_PUBLIC_URL = env("AURUM_PUBLIC_URL").rstrip("/")
MEDIA_MAX_UPLOAD_BYTES = int(env("MEDIA_MAX_UPLOAD_BYTES", str(15 * 1024 * 1024)))
# A photo's multipart framing (boundary lines, part headers) on top of the photo itself.
MEDIA_UPLOAD_ENVELOPE_BYTES = 64 * 1024
# The longest request body anything here takes: a photo upload. A longer one is refused with 413
# before it is read (aurum.bodylimit, under the uvicorn every shipped server runs), and
# deploy/nginx's client_max_body_size sits just above it.
REQUEST_MAX_BODY_BYTES = MEDIA_MAX_UPLOAD_BYTES + MEDIA_UPLOAD_ENVELOPE_BYTES
MEDIA_MAX_PHOTOS = int(env("MEDIA_MAX_PHOTOS", "10"))
# The largest photo decoded: the full-resolution shots of 48 and 50 MP phone cameras
# (8064x6048, 8160x6120) pass; 64-200 MP ones do not (most are over the upload cap anyway).
MEDIA_MAX_PIXELS = int(env("MEDIA_MAX_PIXELS", "50000000"))
# Above 4 MP, an image with more pixels than this per byte of file is refused unopened: real
# photos carry a byte per 4-25 pixels; a zlib bomb carries one per 340 (RGB PNG) or more.
MEDIA_MAX_PIXELS_PER_BYTE = int(env("MEDIA_MAX_PIXELS_PER_BYTE", "100"))
MEDIA_AUTO_APPROVE = env_bool("MEDIA_AUTO_APPROVE", False)
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.IdentifierBackend"]
# A member's data, part by part: the name in their export -> the module with that part's
# `export(user)` and `erase(user)` (accounts.privacy). Erasure runs them in this order, in one
# transaction, before the account itself is anonymised.
MEMBER_DATA = {
    "profile": "profiles.privacy",
    "moderation": "moderation.privacy",
    "matching": "matching.privacy",
    "chat": "chat.privacy",
    "photos": "media.privacy",
    "notifications": "notifications.privacy",
    "deliveries": "deliveries.privacy",
}
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idOwaspHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "phone", "first_name", "last_name")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", "IN")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=int(env("JWT_ACCESS_MINUTES", "15"))),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=int(env("JWT_REFRESH_DAYS", "7"))),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# One-time codes (phone login, password reset).
OTP_CODE_TTL_SECONDS = int(env("OTP_CODE_TTL_SECONDS", "300"))
OTP_CODE_MAX_ATTEMPTS = int(env("OTP_CODE_MAX_ATTEMPTS", "5"))
# --- Deliveries (SMS, email, push) and background work ----------------------------------------
# Every outside message is a `deliveries.Delivery` row, sent by a task after commit. Which
# provider serves a channel is a dotted path (deliveries.backends): SMS_BACKEND, PUSH_BACKEND,
# and email through Django's EMAIL_BACKEND below.
# Production sends through Exotel unless told otherwise: a log-only backend would mark codes
# sent that no one received.
SMS_BACKEND = env(
    "SMS_BACKEND",
    "deliveries.backends.ExotelSms" if PROD else "deliveries.backends.FileOutboxSms",
)
SMS_OUTBOX_DIR = Path(env("SMS_OUTBOX_DIR", str(VAR_DIR / "outbox" / "sms")))
# SMS_BACKEND=deliveries.backends.ExotelSms: Exotel's API with India's DLT ids.
SMS_EXOTEL_URL = env("SMS_EXOTEL_URL", "https://api.exotel.com")  # api.in.exotel.com: Mumbai
SMS_EXOTEL_SID = env("SMS_EXOTEL_SID")
SMS_EXOTEL_API_KEY = env("SMS_EXOTEL_API_KEY")
SMS_EXOTEL_API_TOKEN = env("SMS_EXOTEL_API_TOKEN")
SMS_SENDER_ID = env("SMS_SENDER_ID")  # the DLT-registered header, e.g. AURUMM
SMS_DLT_ENTITY_ID = env("SMS_DLT_ENTITY_ID")
SMS_DLT_TEMPLATES = env("SMS_DLT_TEMPLATES", "{}")  # JSON: template name (or prefix) to DLT id
PUSH_BACKEND = env("PUSH_BACKEND", "deliveries.backends.LogPush")
# PUSH_BACKEND=deliveries.backends.FcmPush: FCM HTTP v1 with a service account's key.
FCM_CREDENTIALS_FILE = env("FCM_CREDENTIALS_FILE")
FCM_CREDENTIALS_JSON = env("FCM_CREDENTIALS_JSON")
FCM_PROJECT_ID = env("FCM_PROJECT_ID")
FCM_ENDPOINT = env("FCM_ENDPOINT", "https://fcm.googleapis.com")
EMAIL_DELIVERY_BACKEND = env("EMAIL_DELIVERY_BACKEND", "deliveries.backends.DjangoEmail")
EMAIL_MESSAGE_ID_DOMAIN = env("EMAIL_MESSAGE_ID_DOMAIN", "aurum.local")
# Tries before a delivery gives up; the wait between them doubles from BASE up to MAX seconds,
# each drawn at random from its upper half (jitter).
DELIVERY_MAX_ATTEMPTS = max(1, int(env("DELIVERY_MAX_ATTEMPTS", "8")))
DELIVERY_BACKOFF_BASE_SECONDS = float(env("DELIVERY_BACKOFF_BASE_SECONDS", "5"))
DELIVERY_BACKOFF_MAX_SECONDS = float(env("DELIVERY_BACKOFF_MAX_SECONDS", "600"))
# How long a sender holds a row while it talks to the provider (past it, a killed sender's row
# is free again), and how long after it is due a row the queue never delivered is swept back.
DELIVERY_LEASE_SECONDS = int(env("DELIVERY_LEASE_SECONDS", "60"))
DELIVERY_SWEEP_AFTER_SECONDS = int(env("DELIVERY_SWEEP_AFTER_SECONDS", "30"))
DELIVERY_SWEEP_EVERY_SECONDS = float(env("DELIVERY_SWEEP_EVERY_SECONDS", "15"))
# Sent and given-up rows are kept this long for the admin, then deleted.
DELIVERY_KEEP_DAYS = int(env("DELIVERY_KEEP_DAYS", "30"))

# Celery: the broker defaults to REDIS_URL; without one, tasks run in-process after commit.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL) or "memory://"
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL == "memory://"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A task is acknowledged when it is done, not when it is taken: a worker killed mid-task leaves
# its message to be delivered again (the rows make a second run harmless).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "deliveries"
# Queues by kind, so a slow email provider never delays a login code. Route more by task name.
CELERY_TASK_ROUTES = {
    "deliveries.*": {"queue": "deliveries"},
    "media.*": {"queue": "media"},
    # Digests have their own queue: a burst of them never delays the sweeper or ring-out.
    "matching.*": {"queue": "digests"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An unacknowledged message comes back after this long; longer than any retry's countdown.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 5,
    "socket_connect_timeout": 1,
}
# A request that queues work gives up on a broker that is down after 0.3 s when it refuses
# (measured), about 3 s when it does not answer; the row then waits for the sweeper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TIMEZONE = "UTC"


def _every(task: str, seconds: float, queue: str = "schedules") -> dict[str, object]:
    """A beat entry: `task` every `seconds` on `queue`; a run no worker took within one
    period expires, so a stopped fleet does not come back to a pile of them."""
    return {"task": task, "schedule": seconds, "options": {"queue": queue, "expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    "deliveries-sweep": _every("deliveries.sweep", DELIVERY_SWEEP_EVERY_SECONDS),
    "deliveries-purge": _every("deliveries.purge", 3600.0),
    "chat-ring-out": _every("chat.ring_out", CHAT_RING_OUT_EVERY_SECONDS),
    "accounts-purge-codes": _every("accounts.purge_codes", 3600.0),
    "accounts-purge-tokens": _every("accounts.purge_tokens", 86400.0),
    "profiles-inactivity": _every("profiles.inactivity", 3600.0),
    "matching-digests": _every("matching.digests", float(MATCHING_DIGEST_EVERY_SECONDS), "digests"),
    "matching-purge-digests": _every("matching.purge_digests", 86400.0, "digests"),
    "media-sweep-orphans": _every("media.sweep_orphans", 3600.0, "media"),
}

# Every queue a worker may serve; /metrics reports each one's depth in the broker.
AURUM_TASK_QUEUES = ["codes", "deliveries", "media", "schedules"]

# --- Metrics (aurum.metrics) -----------------------------------------------------------------
# GET /metrics, for Prometheus, answers only a request with `Authorization: Bearer
# <METRICS_TOKEN>` or from an address in METRICS_ALLOWED_IPS (addresses or CIDR ranges, judged
# as aurum.net judges a client); anyone else gets the 404 of any unknown path. Loopback is
# allowed by default outside prod only: behind nginx on the same machine every request would
# come from loopback if TRUSTED_PROXIES were forgotten.
METRICS_TOKEN = env("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", "" if PROD else "127.0.0.1,::1")
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc
# Several processes on one machine (uvicorn workers, Celery's) each write their metrics to
# files here and any one's /metrics adds them all up (prometheus_client's multiprocess mode;
# the library's own variable). Unset: each process reports its own (the embedded default).
METRICS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR")
if METRICS_MULTIPROC_DIR:
    Path(METRICS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

# Push tokens a member keeps (phones, tablets, reinstalls): one more drops the least recently
# seen. Each push is sent to every one of them.
NOTIFY_MAX_DEVICES = max(1, int(env("NOTIFY_MAX_DEVICES", "10")))

OTP_TOTP_ISSUER = "Aurum"
# The django-otp admin pages must not show TOTP secrets (they would defeat MFA).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
AURUM_ADMIN_REQUIRE_MFA = env_bool("AURUM_ADMIN_REQUIRE_MFA", PROD)

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PROD
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "outbox" / "mail"
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds an SMTP call may take: well inside a delivery's lease (DELIVERY_LEASE_SECONDS).
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "15"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Aurum <no-reply@aurum.example>")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["aurum.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "aurum.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "aurum.schema.AutoSchema",
    "EXCEPTION_HANDLER": "aurum.api_errors.api_exception_handler",
    # Content is negotiated by Accept alone (the MFA QR code: image/png); no ?format=.
    "URL_FORMAT_OVERRIDE": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Aurum API",
    "DESCRIPTION": "The backend of a Kerala-first matrimony platform: the API the mobile apps use.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI would fetch a badge from swagger.io's validator on any host but localhost.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aurum.schema.add_error_responses",
    ],
    # The same choice sets serve single fields and preference lists: one schema name each.
    "ENUM_NAME_OVERRIDES": {
        "EducationLevelEnum": "profiles.choices.EducationLevel",
        "MaritalStatusEnum": "profiles.choices.MaritalStatus",
        "ReligionEnum": "profiles.choices.Religion",
        "CasteEnum": "profiles.choices.ALL_CASTES",
        "MotherTongueEnum": "profiles.choices.MotherTongue",
        "DistrictEnum": "profiles.choices.District",
        "HabitEnum": "profiles.choices.Habit",
        "DigestFrequencyEnum": "notifications.choices.DigestFrequency",
    },
}

# /api/schema/, /docs and /redoc: public, or (the default in prod) for staff only (aurum.docs).
AURUM_PUBLIC_DOCS = env_bool("AURUM_PUBLIC_DOCS", not PROD)

CORS_ALLOWED_ORIGINS = env_list("CORS_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["Retry-After", "X-OTPAuth-URI"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Security -------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
if PROD:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- i18n, logging --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# The API speaks UTC; moderators read the admin in Kerala's time (aurum.middleware).
TIME_ZONE = "UTC"
ADMIN_TIME_ZONE = env("ADMIN_TIME_ZONE", "Asia/Kolkata")
# The zone members' dates and quiet hours are read in, until a member sets their own.
MEMBER_TIME_ZONE = env("MEMBER_TIME_ZONE", "Asia/Kolkata")
# Members inactive this long are hidden from search and feed (their next login brings them
# back), after a heads-up this many days before.
INACTIVITY_HIDE_DAYS = int(env("INACTIVITY_HIDE_DAYS", "180"))
INACTIVITY_NOTICE_DAYS = int(env("INACTIVITY_NOTICE_DAYS", "7"))
USE_I18N = True
USE_TZ = True

# JSON lines in production (one object a line, for a log collector), plain text in dev; both
# carry the request id and pass through aurum.logs' scrubbing (no tokens, emails, phones).
LOG_FORMAT = env("LOG_FORMAT", "json" if AURUM_ENV == "prod" else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "aurum.logs.JsonFormatter"},
        "plain": {"()": "aurum.logs.PlainFormatter"},
    },
    "filters": {
        "redact_tokens": {"()": "aurum.logfilters.RedactTokens"},
        "request_id": {"()": "aurum.logs.RequestIdFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact_tokens", "request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # uvicorn's own loggers print request lines such as `WebSocket /ws/chat?token=...`
        # (uvicorn.error too, whatever --no-access-log says): through the same handler, so
        # the same scrubbing, as every other line.
        **{
            name: {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO"), "propagate": False}
            for name in ("uvicorn", "uvicorn.error")
        },
        # HTTP requests are logged once, by aurum.access (the route, no values, no query);
        # this config would otherwise revive uvicorn's access lines after --no-access-log.
        "uvicorn.access": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # One line per request from aurum.logs; Django's own 4xx lines would repeat it.
        "django.request": {"level": "ERROR"},
    },
}
