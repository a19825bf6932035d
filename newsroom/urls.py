from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Newsroom administration"
admin.site.site_title = "Newsroom administration"
admin.site.index_title = "Releases, figures and media contacts"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="statistics:release-latest"), name="home"),
    path("statistics/", include("stats.urls")),
    path("admin/", admin.site.urls),
    path("contacts/", include("contacts.urls")),
]
