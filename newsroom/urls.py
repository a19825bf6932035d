from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from common.http import read_only
from newsroom import views
from newsroom.auth import SignInForm
from newsroom.feeds import ReleaseFeed
from newsroom.sitemaps import sitemaps
from stats import urls as statistics_urls  # registers the isodate converter used below
from stats.views import api, openapi

admin.site.site_header = "Newsroom administration"
admin.site.site_title = "Newsroom administration"
admin.site.index_title = "Releases, figures and media contacts"
admin.site.login_form = SignInForm  # says why a throttled sign-in was refused (newsroom.auth)

api_patterns = (
    [
        path("releases/", api.release_list, name="releases"),
        path("releases/<isodate:period>/", api.release_detail, name="release"),
        path("metrics/", api.metric_list, name="metrics"),
        path("metrics/<slug:slug>/", api.metric_detail, name="metric"),
        path("openapi.json", openapi.openapi_json, name="openapi"),
    ],
    "api",
)

urlpatterns = [
    path("", views.home, name="home"),
    path("statistics/", include(statistics_urls)),
    path("search/", views.search, name="search"),
    path("feed/", read_only(ReleaseFeed()), name="feed"),
    path(
        "sitemap.xml",
        read_only(sitemap),
        {"sitemaps": sitemaps},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path("robots.txt", views.robots_txt, name="robots"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/", include(api_patterns)),
    path("api/", openapi.api_docs, name="api-docs"),
    path("admin/", admin.site.urls),
    path("contacts/", include("contacts.urls")),
    path("subscribe/", include("alerts.urls")),
]

handler404 = "newsroom.views.page_not_found"
handler500 = "newsroom.views.server_error"
