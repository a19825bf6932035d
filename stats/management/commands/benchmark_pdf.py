"""Time the PDFs against the HTML page, on history rolled back afterwards."""

import re
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import RequestFactory
from django.urls import resolve, reverse

from common.timing import median_ms
from stats.demo.history import generate_history
from stats.demo.seed import load_seed
from stats.models import Programme, Release
from stats.outputs import pdf
from stats.outputs.pdfs import build_release_pdf, programme_report


def _pages(content: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", content))


class Command(BaseCommand):
    help = (
        "Time the release PDF against the release's HTML page (same run, as a ratio) and the "
        "programme report over synthetic weekly history. Everything it adds is rolled back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--weeks", type=int, default=520, help="Weeks of history (520 = 10 years).")
        parser.add_argument("--repeat", type=int, default=5, help="Timed runs per measurement (median).")
        parser.add_argument("--programme", default="eps", help="Slug of the programme report to time.")

    def handle(self, *args, weeks, repeat, programme, **options):
        if weeks < 1 or repeat < 1:
            raise CommandError("--weeks and --repeat must be at least 1.")
        with transaction.atomic():
            try:
                self._run(weeks=weeks, repeat=repeat, slug=programme)
            finally:
                transaction.set_rollback(True)

    def _run(self, *, weeks: int, repeat: int, slug: str) -> None:
        if not Release.objects.public().exists():
            load_seed()
        start = time.perf_counter()
        generate_history(weeks=weeks)
        self.stdout.write(
            f"History: {weeks} weeks added in {time.perf_counter() - start:.1f} s (rolled back)"
        )

        visible = Release.objects.public()
        release = visible.order_by("-period_date").first()
        host = next(
            (h for h in settings.ALLOWED_HOSTS if "*" not in h and not h.startswith(".")), "localhost"
        )
        factory = RequestFactory(HTTP_HOST=host)
        path = release.get_absolute_url()
        match = resolve(path)

        def html():
            response = match.func(factory.get(path), *match.args, **match.kwargs)
            if hasattr(response, "render"):
                response.render()
            assert response.status_code == 200, response.status_code
            return response

        url = f"http://{host}{path}"
        html_ms = median_ms(html, repeat)
        pdf_ms = median_ms(lambda: build_release_pdf(release, visible=visible, url=url), repeat)
        content = build_release_pdf(release, visible=visible, url=url)
        self.stdout.write(f"Release {release.period_date:%Y-%m-%d}, median of {repeat}:")
        self.stdout.write(
            f"  Release PDF: {pdf_ms:.1f} ms, {_pages(content)} pages, {len(content) / 1000:.0f} KB"
        )
        self.stdout.write(f"  HTML page: {html_ms:.1f} ms")
        self.stdout.write(f"  PDF / HTML: {pdf_ms / html_ms:.1f}×")

        pdf_path = reverse("statistics:release-pdf", args=[release.period_date])
        pdf_match = resolve(pdf_path)

        def cached():
            response = pdf_match.func(factory.get(pdf_path), *pdf_match.args, **pdf_match.kwargs)
            assert response.status_code == 200, response.status_code

        cached_ms = median_ms(cached, repeat)  # the warm-up run builds and caches the file
        self.stdout.write(f"  PDF response from the cache: {cached_ms:.1f} ms")

        try:
            programme = Programme.objects.get(slug=slug)
        except Programme.DoesNotExist as error:
            raise CommandError(f"No programme with the slug “{slug}” (--programme).") from error
        releases = visible.count()

        def report():
            return pdf.programme_pdf(programme_report(programme, visible=visible))

        report_ms = median_ms(report, max(1, min(repeat, 3)))
        content = report()
        self.stdout.write(
            f"Programme report ({slug}, {releases} releases): {report_ms:.0f} ms, "
            f"{_pages(content)} pages, {len(content) / 1000:.0f} KB"
        )
