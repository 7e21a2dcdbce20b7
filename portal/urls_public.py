from django.urls import path

from portal import views
from portal.admin import platform_admin
from portal.branding import branding_file

urlpatterns = [
    # Logos by their storage's URL; with the filesystem storage, served here.
    path("media/branding/<path:path>", branding_file, name="branding-file"),
    path("", views.public_home, name="public-home"),
    path("admin/", platform_admin.urls),
]

handler404 = "portal.errors_views.not_found"
handler500 = "portal.errors_views.server_error"
