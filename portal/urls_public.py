from django.conf import settings
from django.urls import path
from django.views.static import serve

from portal.admin import platform_admin
from portal import views

urlpatterns = [
    path(
        "media/branding/<path:path>",
        serve,
        {"document_root": settings.MEDIA_ROOT / "branding"},
        name="branding-file",
    ),
    path("", views.public_home, name="public-home"),
    path("admin/", platform_admin.urls),
]

handler404 = "portal.errors_views.not_found"
handler500 = "portal.errors_views.server_error"
