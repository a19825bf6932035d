from django.urls import path, re_path

from . import views

app_name = "statistics"

PERIOD = r"(?P<period>\d{4}-\d{2}-\d{2})"

urlpatterns = [
    path("", views.ReleaseDetailView.as_view(), name="release-latest"),
    re_path(rf"^{PERIOD}/$", views.ReleaseDetailView.as_view(), name="release-detail"),
]
