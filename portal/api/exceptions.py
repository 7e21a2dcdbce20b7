"""One place turns service errors into JSON 4xx answers."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import ApplicationError


def nest_field_errors(errors: dict) -> dict:
    """Put `fields.<name>` keys (workflow fields) under one `fields` object."""
    out: dict = {}
    for key, value in errors.items():
        if key.startswith("fields."):
            out.setdefault("fields", {})
            if isinstance(out["fields"], dict):
                out["fields"][key.split(".", 1)[1]] = value
        elif key == "__all__":
            out.setdefault("non_field_errors", []).extend(value)
        else:
            out[key] = value
    return out


def exception_handler(exc, context):
    if isinstance(exc, ValidationError):
        detail = (
            nest_field_errors(exc.message_dict)
            if hasattr(exc, "error_dict")
            else {"non_field_errors": exc.messages}
        )
        exc = DRFValidationError(detail)
    elif isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, **exc.extra}, status=exc.status)
    elif isinstance(exc, Http404):
        return Response({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    elif isinstance(exc, PermissionDenied):
        return Response(
            {"detail": str(exc) or "Not allowed."}, status=status.HTTP_403_FORBIDDEN
        )
    return drf_exception_handler(exc, context)
