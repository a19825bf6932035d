import pytest
from django.core.management import call_command
from django.test import Client


def test_public_pages_send_security_headers(client, seed_release):
    response = client.get("/statistics/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_admin_login_is_throttled_after_repeated_failures(db, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 3
    browser = Client()
    for _ in range(3):
        response = browser.post("/admin/login/?next=/admin/", {"username": "boss", "password": "wrong"})
    # Even the right password is refused while locked out.
    response = browser.post("/admin/login/?next=/admin/", {"username": "boss", "password": "pass-word-123"})
    assert response.status_code == 429
    assert "/admin/" not in response.get("Location", "")
    other = Client()
    assert other.get("/admin/").status_code == 302  # still asked to log in


def test_right_password_logs_in_before_any_lockout(db, superuser):
    browser = Client()
    response = browser.post("/admin/login/?next=/admin/", {"username": "boss", "password": "pass-word-123"})
    assert response.status_code == 302 and response["Location"] == "/admin/"


@pytest.mark.django_db
def test_production_settings_pass_the_deploy_check(tmp_path):
    import subprocess
    import sys

    env = {
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60 + "-a-long-random-production-secret-value",
        "ALLOWED_HOSTS": "newsroom.example.org",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_development_secret_key():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={"DEBUG": "0", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_dev_admin_is_refused_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("dev_admin")
