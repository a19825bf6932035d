from django.urls import path, register_converter

from . import converters, views

register_converter(converters.IsoDateConverter, "isodate")

app_name = "statistics"

urlpatterns = [
    path("", views.ReleaseDetailView.as_view(), name="release-latest"),
    path("<isodate:period>/", views.ReleaseDetailView.as_view(), name="release-detail"),
]

urlpatterns += [
    path("<isodate:period>.pdf", views.release_pdf, name="release-pdf"),
    path("programmes/<slug:slug>.pdf", views.programme_pdf, name="programme-pdf"),
]
