from django.urls import path, register_converter

from . import converters, views

register_converter(converters.IsoDateConverter, "isodate")

app_name = "statistics"

urlpatterns = [
    path("", views.ReleaseDetailView.as_view(), name="release-latest"),
    path("<isodate:period>/", views.ReleaseDetailView.as_view(), name="release-detail"),
]

urlpatterns += [
    path("preview/<int:pk>/", views.ReleasePreviewView.as_view(), name="release-preview"),
    path("calendar/", views.ReleaseCalendarView.as_view(), name="release-calendar"),
    path("revisions/", views.RevisionListView.as_view(), name="revision-list"),
]
