"""The partner API of a clinic's host: docs, auth and version 1 resources."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal.api.tokens import (
    ClinicLogoutView,
    ClinicTokenObtainPairView,
    ClinicTokenRefreshView,
)

v1_patterns = [
    path("auth/token/", ClinicTokenObtainPairView.as_view(), name="api-token"),
    path(
        "auth/token/refresh/",
        ClinicTokenRefreshView.as_view(),
        name="api-token-refresh",
    ),
    path("auth/logout/", ClinicLogoutView.as_view(), name="api-logout"),
    path("", include("clinic.api.urls")),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script from a URL of its own, so the
    # page passes the Content-Security-Policy (no inline script).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="portal/api_docs.html"
        ),
        name="api-docs",
    ),
    path("v1/", include(v1_patterns)),
]
