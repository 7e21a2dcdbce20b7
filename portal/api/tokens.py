"""Partner API tokens: obtain, refresh and log out, bound to one clinic.

Tokens carry the clinic's schema in the `clinic` claim (see
portal.api.authentication). Sign-in goes through portal.signin like every
other door: the same answer for every refusal, lockout per (email, clinic),
and per-address limits across all clinics (429).
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    InvalidToken,
    TokenError,
)
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenViewBase

from portal.api.authentication import CLINIC_CLAIM
from portal.api.schema import ApiErrorSerializer
from portal.errors import ApplicationError
from portal.models import SecurityEvent, User
from portal.net import client_ip
from portal.security import security_event_record
from portal.selectors import membership_for, password_expired
from portal.signin import (
    TOO_MANY_ATTEMPTS,
    address_attempt_allowed,
    signin_authenticate,
)

WRONG_CLINIC = "This token belongs to another clinic."
NOT_A_MEMBER = "This token's user is no longer a member of this clinic."
RETRY_AFTER_SECONDS = 60


# --- Tokens ---------------------------------------------------------------------------


def clinic_refresh_token(*, user: User, schema_name: str) -> RefreshToken:
    """A refresh token (and, through it, access tokens) for `user` in one clinic."""
    refresh = RefreshToken.for_user(user)
    refresh[CLINIC_CLAIM] = schema_name
    # for_user stored the token before the clinic claim was added; keep the
    # outstanding list's copy identical to what the partner holds.
    OutstandingToken.objects.filter(jti=refresh[jwt_settings.JTI_CLAIM]).update(
        token=str(refresh)
    )
    return refresh


def _refresh_token_of_this_clinic(raw: str) -> RefreshToken:
    """Parse a refresh token; refuse it if invalid, blacklisted or another clinic's."""
    try:
        refresh = RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken(exc.args[0]) from exc
    if refresh.get(CLINIC_CLAIM) != connection.schema_name:
        raise AuthenticationFailed(WRONG_CLINIC, code="wrong_clinic")
    return refresh


def _member_of_this_clinic(refresh: RefreshToken) -> User:
    user_id = refresh.get(jwt_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None or membership_for(user=user, clinic=connection.tenant) is None:
        raise AuthenticationFailed(NOT_A_MEMBER, code="not_member")
    return user


# --- Serializers ----------------------------------------------------------------------


class ClinicTokenObtainPairSerializer(TokenObtainPairSerializer):
    """Email and password in; a token pair for this clinic out."""

    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        request = self.context["request"]
        clinic = request.tenant
        ip = client_ip(request)
        user_agent = request.headers.get("User-Agent", "")
        # Raises ApplicationError (401 for every refusal, a lockout included);
        # the exception handler turns it into {"detail": ...}.
        self.user = signin_authenticate(
            request=request,
            email=attrs[self.username_field],
            password=attrs["password"],
            clinic=clinic,
        )
        if password_expired(user=self.user, clinic=clinic):
            raise ApplicationError(
                "Your password has expired. Choose a new one at /account/password/change/ "
                "on this clinic's site, then ask for a token again.",
                status=403,
            )
        refresh = self.get_token(self.user)
        security_event_record(
            kind=SecurityEvent.Kind.TOKEN_ISSUED,
            clinic=clinic,
            user=self.user,
            ip=ip,
            user_agent=user_agent,
        )
        return {"refresh": str(refresh), "access": str(refresh.access_token)}

    @classmethod
    def get_token(cls, user: User) -> RefreshToken:
        return clinic_refresh_token(user=user, schema_name=connection.schema_name)


class ClinicTokenRefreshSerializer(TokenRefreshSerializer):
    """A refresh token of this clinic in; a new access token and rotated refresh out."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        # Ours first: the clinic and the membership. Then simplejwt's own
        # validation, rotation and blacklisting.
        _member_of_this_clinic(_refresh_token_of_this_clinic(attrs["refresh"]))
        return super().validate(attrs)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(write_only=True)


_AUTH_ERRORS = {
    401: OpenApiResponse(
        ApiErrorSerializer, description="Invalid token or credentials."
    ),
    429: OpenApiResponse(
        ApiErrorSerializer, description="Too many attempts from this address."
    ),
}


class ClinicJWTScheme(SimpleJWTScheme):
    """Documents ClinicJWTAuthentication as the bearer JWT scheme."""

    target_class = "portal.api.authentication.ClinicJWTAuthentication"
    name = "jwtAuth"


# --- Views ----------------------------------------------------------------------------


class _ClinicTokenView(TokenViewBase):
    """No authentication, open to anyone; always answers JSON.

    Every call counts against its address' sign-in budget, shared with the
    staff sign-in page and the password reset of every clinic.
    """

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and not address_attempt_allowed(request):
            raise Throttled(wait=RETRY_AFTER_SECONDS, detail=TOO_MANY_ATTEMPTS)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        # A 401 must say how to authenticate, also when a service refused.
        if response.status_code == 401 and "WWW-Authenticate" not in response:
            response["WWW-Authenticate"] = self.get_authenticate_header(self.request)
        return response


@extend_schema(
    tags=["auth"],
    summary="Obtain a token pair",
    description=(
        "Sign in with email and password; the tokens work on this clinic's host only. "
        "Every refusal is the same 401 (five wrong passwords for one email at this "
        "clinic pause its sign-in for 15 minutes, with the same answer); too many "
        "attempts or failures from one address, across all clinics, are refused with 429."
    ),
    request=ClinicTokenObtainPairSerializer,
    responses={
        200: ClinicTokenObtainPairSerializer,
        400: OpenApiResponse(description="Missing email or password."),
        **_AUTH_ERRORS,
        403: OpenApiResponse(
            ApiErrorSerializer, description="The password has expired."
        ),
    },
)
class ClinicTokenObtainPairView(_ClinicTokenView):
    serializer_class = ClinicTokenObtainPairSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


@extend_schema(
    tags=["auth"],
    summary="Refresh an access token",
    description="Refresh tokens rotate: the one sent is blacklisted, a new one given.",
    request=ClinicTokenRefreshSerializer,
    responses={
        200: ClinicTokenRefreshSerializer,
        **_AUTH_ERRORS,
    },
)
class ClinicTokenRefreshView(_ClinicTokenView):
    serializer_class = ClinicTokenRefreshSerializer


@extend_schema(
    tags=["auth"],
    summary="Log out",
    description="Blacklist a refresh token of this clinic so it can no longer be used.",
    request=LogoutSerializer,
    responses={204: OpenApiResponse(description="Logged out."), **_AUTH_ERRORS},
)
class ClinicLogoutView(_ClinicTokenView):
    serializer_class = LogoutSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh = _refresh_token_of_this_clinic(serializer.validated_data["refresh"])
        refresh.blacklist()
        user_id = refresh.get(jwt_settings.USER_ID_CLAIM)
        security_event_record(
            kind=SecurityEvent.Kind.SIGN_OUT,
            clinic=request.tenant,
            user=User.objects.filter(pk=user_id).first() if user_id else None,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
