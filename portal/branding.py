"""Clinic logos, served from the branding storage (not django.views.static.serve).

A logo's address is its storage's URL (`clinic.logo.url`). With S3 (production)
that URL is the bucket's and the portal serves nothing; with the filesystem
storage of development and tests it is /media/branding/..., answered here by
opening the file through the storage: no document root, no directory listing,
only names the storage itself holds, and long-lived caching (a new logo gets a
new name).
"""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404, HttpRequest
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from portal.storage import branding_storage

IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}


@require_safe
def branding_file(request: HttpRequest, path: str) -> FileResponse:
    storage = branding_storage()
    content_type, _ = mimetypes.guess_type(path)
    if content_type not in IMAGE_TYPES or ".." in path.split("/"):
        raise Http404("No such logo.")
    try:
        if not storage.exists(path):
            raise Http404("No such logo.")
        handle = storage.open(path, "rb")
    except (OSError, ValueError) as exc:  # a name the storage refuses (e.g. outside it)
        raise Http404("No such logo.") from exc
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    if content_type == "image/svg+xml":
        response["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response
