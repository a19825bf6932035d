from django.urls import path, register_converter

from stats import converters
from stats.views import calendar, compliance, prerelease, reuse
from stats.views import pages as views

register_converter(converters.IsoDateConverter, "isodate")
register_converter(converters.DownloadFormatConverter, "dataformat")

app_name = "statistics"

urlpatterns = [
    path("", views.ReleaseDetailView.as_view(), name="release-latest"),
    path("<isodate:period>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path("<isodate:period>.excel.csv", views.release_download_excel, name="release-download-excel"),
    path("<isodate:period>.<dataformat:fmt>", views.release_download, name="release-download"),
    path("archive/", views.ArchiveView.as_view(), name="archive"),
    path("archive/<int:year>/", views.ArchiveView.as_view(), name="archive-year"),
    path("programmes/<slug:slug>/", views.ProgrammeDetailView.as_view(), name="programme-detail"),
    path("metrics/<slug:slug>/", views.MetricDetailView.as_view(), name="metric-detail"),
    path("metrics/<slug:slug>.<dataformat:fmt>", views.metric_download, name="metric-download"),
    path("metrics/<slug:slug>.excel.csv", views.metric_download_excel, name="metric-download-excel"),
    path("data.csv", views.all_data_csv, name="data-csv"),
    path("data.excel.csv", views.all_data_csv_excel, name="data-csv-excel"),
]

urlpatterns += [
    path("<isodate:period>.pdf", views.release_pdf, name="release-pdf"),
    path("programmes/<slug:slug>.pdf", views.programme_pdf, name="programme-pdf"),
]

# Data people can reuse: CSV on the Web metadata beside each CSV (CSVW's default address), and zips.
urlpatterns += [
    path("<isodate:period>.csv-metadata.json", reuse.release_csvw, name="release-csvw"),
    path("<isodate:period>.zip", reuse.release_zip, name="release-zip"),
    path("metrics/<slug:slug>.csv-metadata.json", reuse.metric_csvw, name="metric-csvw"),
    path("metrics/<slug:slug>.zip", reuse.metric_zip, name="metric-zip"),
    path("data.csv-metadata.json", reuse.all_data_csvw, name="data-csvw"),
]

urlpatterns += [
    path("preview/<int:pk>/", views.ReleasePreviewView.as_view(), name="release-preview"),
    path("calendar/", views.ReleaseCalendarView.as_view(), name="release-calendar"),
    path("calendar.ics", calendar.release_calendar_ics, name="release-calendar-ics"),
    path("revisions/", views.RevisionListView.as_view(), name="revision-list"),
    path("compliance/", compliance.ComplianceView.as_view(), name="compliance"),
    path(
        "pre-release/<isodate:period>/<str:token>/", prerelease.PreReleaseView.as_view(), name="pre-release"
    ),
    path("pre-release/<isodate:period>/<str:token>.pdf", prerelease.pre_release_pdf, name="pre-release-pdf"),
]
