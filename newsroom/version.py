"""The code version: what every kept page, PDF and file is keyed by, so a deploy reaches them all.

A deployment says its version with NEWSROOM_CODE_VERSION (its commit, say). Without one, it is a
digest of what the site's output is made from, read once as the settings load: the project's code,
templates, styles and scripts, the versions of the libraries that format what it prints, and the
settings it prints. A process keeps the version it started with, so an old process in a rolling
deploy never claims the new code's version.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

SOURCE_DIRS = ("templates", "stats", "contacts", "alerts", "common", "newsroom", "static/css", "static/js")
SUFFIXES = (".py", ".html", ".txt", ".css", ".js", ".xml")
LIBRARIES = (
    "django",
    "django-tables2",
    "reportlab",
    "openpyxl",
    "phonenumbers",
    "phonenumberslite",
    "django-phonenumber-field",
)


def code_digest(base: Path, *, printed: dict) -> str:
    """A digest of the source under `base`, the libraries' versions and `printed` (settings)."""
    digest = hashlib.sha256()
    for folder in SOURCE_DIRS:
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in SUFFIXES and "migrations" not in path.parts and path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={installed_version(name)}".encode())
        except PackageNotFoundError:
            continue
    for name, value in sorted(printed.items()):
        digest.update(f"{name}={value!r}".encode())
    return digest.hexdigest()[:16]
