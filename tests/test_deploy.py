"""A deploy reaches everything: new code serves new pages, PDFs and files for every release at once.

Everything kept is keyed by the code version (settings.NEWSROOM_CODE_VERSION, in every cache key
but the shared markers of public change: common.cache.make_key), so nothing needs clearing. A
deploy is played here as it happens: new templates and code, and a new version.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from newsroom.version import code_digest
from stats.demo.history import generate_history
from stats.outputs import downloads, pdf

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
PAGES = ("/statistics/2010-03-03/", "/statistics/2010-02-17/", "/", "/statistics/archive/")


@pytest.fixture
def kept(settings, seed_release):
    """The page cache on, with the key function production uses."""
    settings.PUBLIC_CACHE_SECONDS = 300
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "deploy",
            "KEY_FUNCTION": "common.cache.make_key",
        }
    }
    settings.NEWSROOM_CODE_VERSION = "version-1"
    generate_history(weeks=3)
    return seed_release


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_new_code_serves_new_pages_pdfs_and_files_for_every_release_with_no_clearing(
    client, kept, settings, tmp_path, monkeypatch
):
    old_pdf = body(client.get("/statistics/2010-02-17.pdf"))
    old_xlsx = body(client.get("/statistics/2010-02-17.xlsx"))
    for path in PAGES:
        client.get(path)
        assert client.get(path)["X-Cache"] == "hit", path
    assert body(client.get("/statistics/2010-02-17.pdf")) == old_pdf  # kept

    # The deploy: a template changed, the PDF and XLSX writers changed, and a new version.
    (tmp_path / "includes").mkdir()
    footer = (TEMPLATES / "includes" / "footer.html").read_text()
    (tmp_path / "includes" / "footer.html").write_text(footer + "<!-- footer of version 2 -->")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    release_pdf = pdf.release_pdf
    monkeypatch.setattr(pdf, "release_pdf", lambda *a, **k: release_pdf(*a, **k) + b"%version 2\n")
    xlsx = downloads.DATA_FORMATS["xlsx"]

    def xlsx_of_version_2(rows, **kwargs):
        workbook = load_workbook(io.BytesIO(xlsx.write(rows, **kwargs)))
        workbook.properties.keywords = "version 2"
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()

    monkeypatch.setitem(
        downloads.DATA_FORMATS, "xlsx", downloads.DataFormat(**{**vars(xlsx), "write": xlsx_of_version_2})
    )
    settings.NEWSROOM_CODE_VERSION = "version-2"

    for path in PAGES:
        response = client.get(path)
        assert response["X-Cache"] == "miss", f"{path}: the old code's page was served after the deploy"
        assert b"footer of version 2" in response.content, path
    assert body(client.get("/statistics/2010-02-17.pdf")).endswith(b"%version 2\n")  # an old release
    new_xlsx = load_workbook(io.BytesIO(body(client.get("/statistics/2010-02-17.xlsx"))))
    assert new_xlsx.properties.keywords == "version 2" and old_xlsx != new_xlsx


def test_a_public_change_made_by_either_version_reaches_both_during_a_rolling_deploy(
    client, kept, settings, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from common.cache import STATE_KEY, invalidate

    client.get("/statistics/")
    settings.NEWSROOM_CODE_VERSION = "version-2"
    client.get("/statistics/")
    before = cache.get(STATE_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        invalidate()  # a public change, made by the new version
    settings.NEWSROOM_CODE_VERSION = "version-1"
    assert cache.get(STATE_KEY) != before
    assert client.get("/statistics/")["X-Cache"] == "miss", "the old version still served its page"


def test_the_code_version_follows_the_templates_and_the_settings_printed(tmp_path):
    shutil.copytree(TEMPLATES / "includes", tmp_path / "templates" / "includes")
    first = code_digest(tmp_path, printed={"TIME_ZONE": "Europe/London"})
    assert code_digest(tmp_path, printed={"TIME_ZONE": "Europe/London"}) == first
    footer = tmp_path / "templates" / "includes" / "footer.html"
    footer.write_text(footer.read_text() + "<!-- changed -->")
    second = code_digest(tmp_path, printed={"TIME_ZONE": "Europe/London"})
    assert second != first
    assert code_digest(tmp_path, printed={"TIME_ZONE": "UTC"}) != second
