"""Production settings pass Django's deployment checks and refuse to start without a secret key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
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
