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


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: sources}."""
    directives = [part.split() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


PUBLIC_PATHS = [
    "/",
    "/statistics/",
    "/statistics/2010-03-03/",
    "/statistics/archive/",
    "/statistics/calendar/",
    "/statistics/revisions/",
    "/statistics/programmes/eps/",
    "/statistics/metrics/eps-messages-total/",
    "/search/?q=prescription",
    "/contacts/",
    "/statistics/no-such-page/",
]


def test_public_pages_allow_no_inline_styles(client, seed_release):
    for path in PUBLIC_PATHS:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert policy(response)["style-src"] == ["'self'"], path


def test_public_pages_have_no_style_attributes_or_elements(client, seed_release):
    """What the policy would block: nothing on a public page, charts included."""
    from html.parser import HTMLParser

    from stats.demo.history import generate_history

    generate_history(weeks=4)  # enough releases for trend charts

    class InlineStyles(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "style" or any(name == "style" for name, _ in attrs):
                self.found.append(self.get_starttag_text())

    charts = 0
    for path in PUBLIC_PATHS:
        html = client.get(path).content.decode()
        charts += html.count('<figure class="newsroom-chart">')
        parser = InlineStyles()
        parser.feed(html)
        assert parser.found == [], path
    assert charts > 1  # the SVG charts were checked too


def test_the_admin_alone_also_allows_inline_styles(client, superuser, seed_release):
    login = policy(client.get("/admin/login/"))
    assert login["style-src"] == ["'self'", "'unsafe-inline'"]
    assert login["script-src"] == ["'self'"]  # scripts stay strict
    client.force_login(superuser)
    change = f"/admin/statistics/release/{seed_release.pk}/change/"
    for path in ("/admin/", "/admin/statistics/release/", change):
        response = client.get(path)
        assert response.status_code == 200, path
        assert policy(response)["style-src"] == ["'self'", "'unsafe-inline'"], path
    # Signed in, public pages keep the strict policy.
    assert policy(client.get("/statistics/"))["style-src"] == ["'self'"]


def test_admin_inline_styles_add_to_a_views_own_policy_changes(rf):
    from csp.decorators import csp_update
    from django.http import HttpResponse

    from newsroom.middleware import ContentSecurityPolicyMiddleware

    @csp_update({"style-src": ["https://styles.example.org"], "img-src": "https:"})
    def view(request):
        return HttpResponse("ok")

    middleware = ContentSecurityPolicyMiddleware(view)
    admin = policy(middleware(rf.get("/admin/anything/")))
    assert admin["style-src"] == ["'self'", "https://styles.example.org", "'unsafe-inline'"]
    assert admin["img-src"] == ["'self'", "data:", "https:"]
    public = policy(middleware(rf.get("/anything/")))
    assert public["style-src"] == ["'self'", "https://styles.example.org"]


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


# --- the mail relay: encryption only when asked for, and a warning in production without it ----------

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 60 + "-a-long-random-production-secret-value",
    "ALLOWED_HOSTS": "newsroom.example.org",
    "PATH": "/usr/bin:/bin",
}


def _manage(*args: str, **env: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "manage.py", *args], env={**PRODUCTION, **env}, capture_output=True, text=True
    )


def email_settings(**env: str) -> dict:
    """The mail settings Django starts with, given these environment variables."""
    import json

    code = (
        "import json; from django.conf import settings; print(json.dumps({name: getattr(settings, name) "
        "for name in ('EMAIL_PORT', 'EMAIL_USE_TLS', 'EMAIL_USE_SSL')}))"
    )
    result = _manage("shell", "--no-imports", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_naming_a_mail_relay_turns_on_no_encryption_nobody_asked_for():
    plain = {"EMAIL_PORT": 25, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False}
    assert email_settings(EMAIL_HOST="relay.example.org") == plain
    assert email_settings(EMAIL_HOST="relay.example.org", EMAIL_PORT="2525") == plain | {"EMAIL_PORT": 2525}
    # Asked for: STARTTLS on the submission port, or TLS from the start on port 465.
    starttls = email_settings(EMAIL_HOST="relay.example.org", EMAIL_USE_TLS="1")
    assert starttls == plain | {"EMAIL_PORT": 587, "EMAIL_USE_TLS": True}
    implicit = email_settings(EMAIL_HOST="relay.example.org", EMAIL_USE_SSL="1")
    assert implicit == plain | {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True}


def test_both_kinds_of_mail_encryption_at_once_are_refused_at_start_up():
    result = _manage("check", EMAIL_HOST="relay.example.org", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert result.returncode != 0
    assert "EMAIL_USE_TLS or EMAIL_USE_SSL, not both" in result.stderr


def test_production_warns_of_a_mail_relay_reached_without_encryption():
    warned = _manage("check", "--deploy", "--fail-level", "WARNING", EMAIL_HOST="relay.example.org")
    assert warned.returncode != 0
    output = warned.stdout + warned.stderr
    assert "newsroom.W001" in output and "relay.example.org" in output
    assert "EMAIL_USE_TLS=1" in output
    for safe in ({"EMAIL_USE_TLS": "1"}, {"EMAIL_USE_SSL": "1"}, {"EMAIL_HOST": "localhost"}):
        env = {"EMAIL_HOST": "relay.example.org", **safe}
        result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
        assert result.returncode == 0, (safe, result.stdout + result.stderr)


@pytest.mark.parametrize(
    "path",
    [
        "/subscribe/confirm/not-a-token",  # a redirect to add the slash
        "/subscribe/manage/not-a-token/",
        "/subscribe/unsubscribe/not-a-token/",
        "/statistics/pre-release/2010-03-03/not-a-token/",
    ],
)
def test_no_answer_on_a_personal_link_may_be_kept_by_a_shared_cache(client, seed_release, settings, path):
    settings.PUBLIC_CACHE_SECONDS = 300
    response = client.get(path)
    control = response.get("Cache-Control", "")
    assert "public" not in control and "no-store" in control and "private" in control, (path, control)
