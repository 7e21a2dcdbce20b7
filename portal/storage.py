"""Where clinic branding (logos) is stored.

Logos are uploaded on the public host but shown on every clinic host, so they
do not go through the per-clinic media storage.
"""

from django.core.files.storage import Storage, storages


def branding_storage() -> Storage:
    return storages["branding"]
