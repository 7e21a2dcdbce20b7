"""Where documents' files live: one location per clinic, never served directly.

The "documents" entry of STORAGES picks the backend (DOCUMENT_STORAGE):

- development and tests: `ClinicFileSystemStorage`, under
  MEDIA_ROOT/<clinic schema>/documents/...; nothing maps these files to a URL,
  every read goes through a view or API route that checks the role and writes
  an access entry.
- production: `ClinicS3Storage` (django-storages' S3 backend, configured with
  the AWS_* settings), with the clinic's schema as a key prefix in the bucket.

Both read the clinic from the connection on every call, so a storage object
made in one clinic's request never writes into another's folder.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import connection


def clinic_schema() -> str:
    schema = connection.schema_name
    if not schema or schema == "public":
        raise ImproperlyConfigured(
            "Documents are stored only inside a clinic's schema."
        )
    return schema


class ClinicFileSystemStorage(FileSystemStorage):
    """Files on the local disk, in a folder of the current clinic's own."""

    @property
    def base_location(self) -> str:
        root = self._value_or_setting(self._location, settings.MEDIA_ROOT)
        return os.path.join(str(root), clinic_schema())

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def base_url(self) -> None:  # never served by URL
        return None

    def url(self, name: str | None) -> str:
        raise NotImplementedError("Documents are streamed by views, not linked to.")


try:
    from storages.backends.s3 import S3Storage
except (ImportError, ImproperlyConfigured):  # boto3 is a production dependency
    S3Storage = None

if S3Storage is not None:

    class ClinicS3Storage(S3Storage):
        """S3 keys under <AWS_LOCATION>/<clinic schema>/; private, no public URLs."""

        default_acl = "private"
        querystring_auth = True

        @property
        def location(self) -> str:
            return "/".join(
                p for p in (self._base_location.strip("/"), clinic_schema()) if p
            )

        @location.setter
        def location(self, value: str) -> None:
            self._base_location = value or ""


def document_storage() -> Storage:
    return storages["documents"]
