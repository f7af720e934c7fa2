"""Production settings pass Django's deployment checks, refuse to start without a secret key, and put uploads on
S3-compatible object storage when the environment says so."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return _python("manage.py", *args, **env)


def _python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Python in the repository under production settings, seeing only the DJANGO_ and AWS_ variables given."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def production_env(tmp_path) -> dict:
    return {
        "DJANGO_SECRET_KEY": "pV3#q9LmZ!t7Rk2@wX8nB5$yC1hJ6^sD4&fG0*aE-uQo+iT=rY%",
        "DJANGO_ALLOWED_HOSTS": "exchange.example.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }


def test_check_deploy_passes(production_env):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key(production_env):
    result = _manage("check", **{**production_env, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_headers(production_env, monkeypatch):
    import importlib

    for key, value in production_env.items():
        monkeypatch.setenv(key, value)
    production = importlib.import_module("config.settings.production")

    assert production.SECURE_HSTS_SECONDS >= 31536000
    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE
    assert production.DEBUG is False
    assert "default-src" in production.SECURE_CSP


_S3_PROBE = """
import json, django
django.setup()
from django.core.files.storage import storages
default_storage = storages["default"]
print(json.dumps({
    "class": type(default_storage).__name__,
    "bucket": default_storage.bucket_name,
    "endpoint": default_storage.endpoint_url,
    "region": default_storage.region_name,
    "access_key": default_storage.access_key,
    "acl": default_storage.default_acl,
    "overwrite": default_storage.file_overwrite,
    "url": default_storage.url("private/licences/x.pdf"),
}))
"""


def _probe_storage(env: dict) -> dict:
    result = _python("-c", _S3_PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_stores_uploads_on_s3_compatible_storage_from_the_environment(production_env):
    s3 = {
        "DJANGO_STORAGE_BACKEND": "storages.backends.s3.S3Storage",
        "AWS_STORAGE_BUCKET_NAME": "databourse-uploads",
        "AWS_S3_ENDPOINT_URL": "https://s3.qingdao.example.cn",
        "AWS_S3_REGION_NAME": "cn-qingdao",
        "AWS_ACCESS_KEY_ID": "AKIADATABOURSETEST",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
    }

    probe = _probe_storage({**production_env, **s3})

    assert probe["class"] == "S3Storage"
    assert (probe["bucket"], probe["endpoint"], probe["region"]) == (
        "databourse-uploads",
        "https://s3.qingdao.example.cn",
        "cn-qingdao",
    )
    assert probe["access_key"] == "AKIADATABOURSETEST"
    assert probe["acl"] is None and probe["overwrite"] is False  # private files, never replaced by a same-name upload
    # A signed, expiring link to the endpoint, computed locally (no network).
    assert probe["url"].startswith("https://s3.qingdao.example.cn/databourse-uploads/private/licences/x.pdf?")
    assert "X-Amz-Signature=" in probe["url"] and "X-Amz-Expires=300" in probe["url"]


def test_production_s3_storage_needs_a_bucket(production_env):
    result = _manage("check", **production_env, DJANGO_STORAGE_BACKEND="storages.backends.s3.S3Storage")
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr
