"""URLs of a clinic's host: staff pages, the clinic admin and the partner API."""

from django.urls import include, path

from clinic.admin import clinic_admin
from portal import views
from portal.branding import branding_file

auth_patterns = [
    path("sign-in/", views.sign_in, name="login"),
    path("sign-out/", views.sign_out, name="logout"),
    path("password/reset/", views.password_reset, name="password-reset"),
    path(
        "password/reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("password/change/", views.password_change, name="password-change"),
    path("security/", views.security_events, name="security-events"),
]

urlpatterns = [
    # The partner API first: Django tries patterns in order, and the staff
    # pages' "" includes hold some sixty (no API path matches any of them).
    path("api/v1/", include("calls.api_urls")),
    path("api/", include("portal.api.urls")),
    # Logos by their storage's URL; with the filesystem storage, served here.
    path("media/branding/<path:path>", branding_file, name="branding-file"),
    path("", include("clinic.urls")),
    path("", include("calls.urls")),
    path("", include("billing.urls")),
    path("account/", include(auth_patterns)),
    path("admin/", clinic_admin.urls),
]

handler400 = "portal.errors_views.bad_request"
handler404 = "portal.errors_views.not_found"
handler500 = "portal.errors_views.server_error"
