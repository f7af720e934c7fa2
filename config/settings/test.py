"""Test settings: PostgreSQL from DATABASE_URL (make test starts one), fast hashing, in-memory files."""

from .base import *  # noqa: F403
from .base import DATABASES, env

SECRET_KEY = "test-only-not-secret"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests run tasks eagerly unless a test opts into the real worker (see tests/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="cache+memory://")
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_databourse")}
AXES_FAILURE_LIMIT = 3
