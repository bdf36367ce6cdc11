"""Settings for the test suite: production settings with test defaults for the environment.

Tests run against real PostgreSQL and Redis; override DATABASE_URL / REDIS_URL to point
elsewhere. Subprocesses started by tests (gunicorn, celery) inherit the same values.
"""

import os

TEST_ENV_DEFAULTS = {
    "DEBUG": "false",
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuvwxyz",
    "NUVLYX_ENCRYPTION_KEYS": "dGVzdC1rZXktMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY=",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nuvlyx",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SECURE_SSL_REDIRECT": "false",
    "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
    "WEBHOOKS_ALLOW_HTTP": "true",
    "ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
    "CONN_MAX_AGE": "0",
}
for _name, _value in TEST_ENV_DEFAULTS.items():
    os.environ.setdefault(_name, _value)

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
