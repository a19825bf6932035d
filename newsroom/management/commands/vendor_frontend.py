"""Copy the NHS.UK frontend build from node_modules into static/, for collectstatic."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PACKAGE = "nhsuk-frontend"
# Web fonts are fetched from the NHS.UK CDN by default: the site makes no
# request to another host, so they are dropped and the fallback (Arial) is used.
FONT_FACE = re.compile(r"@font-face\{[^}]*\}")


class Command(BaseCommand):
    help = "Copy nhsuk-frontend's CSS, JavaScript and images into static/vendor/nhsuk (run after npm ci)."

    def handle(self, *args, **options):
        source = Path(settings.BASE_DIR) / "node_modules" / PACKAGE / "dist" / "nhsuk"
        if not source.is_dir():
            raise CommandError(f"{source} not found: run `npm ci` first.")
        version = json.loads((source.parents[1] / "package.json").read_text())["version"]
        target = Path(settings.BASE_DIR) / "static" / "vendor" / "nhsuk"
        shutil.rmtree(target, ignore_errors=True)
        (target / "assets").mkdir(parents=True)
        shutil.copytree(source / "assets" / "images", target / "assets" / "images")
        css = (source / "nhsuk-frontend.min.css").read_text(encoding="utf-8")
        css = FONT_FACE.sub("", css)
        # Image URLs are absolute (/assets/...); make them relative to the stylesheet.
        css = css.replace("url(/assets/", "url(assets/")
        css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)
        if "https://" in css or "http://" in css:
            raise CommandError("The NHS.UK stylesheet still names an outside host after rewriting.")
        (target / "nhsuk-frontend.min.css").write_text(css, encoding="utf-8")
        js = (source / "nhsuk-frontend.min.js").read_text(encoding="utf-8")
        js = re.sub(r"//# sourceMappingURL=.*", "", js)
        (target / "nhsuk-frontend.min.js").write_text(js, encoding="utf-8")
        (target / "VERSION").write_text(version + "\n")
        self.stdout.write(self.style.SUCCESS(f"Copied {PACKAGE} {version} to {target}."))
