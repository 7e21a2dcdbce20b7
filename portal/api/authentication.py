"""JWT authentication bound to one clinic.

simplejwt resolves `user_id` in whatever schema is active, so a token issued
on clinic A would work on clinic B. Tokens carry the clinic's schema in the
`clinic` claim; a token is refused on any other clinic's host, and its user
must still be an active member there.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.db import connection
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from portal.middleware_api import prefetched_membership
from portal.selectors import membership_with_user

CLINIC_CLAIM = "clinic"


# Tokens this process has verified, by their exact text, until they expire: a
# partner sends the same access token with every request for its lifetime, and
# the same bytes verify the same way under the same key. Expiry is checked on
# every request; an expired one is verified afresh (and refused as before).
_VERIFIED_MAX = 4096
_verified: OrderedDict[bytes, Token] = OrderedDict()
_verified_lock = threading.Lock()


def _remembered(raw_token: bytes) -> Token | None:
    with _verified_lock:
        token = _verified.get(raw_token)
        if token is None:
            return None
        if time.time() >= token["exp"]:
            del _verified[raw_token]
            return None
        _verified.move_to_end(raw_token)
        return token


def _remember(raw_token: bytes, token: Token) -> None:
    with _verified_lock:
        _verified[raw_token] = token
        if len(_verified) > _VERIFIED_MAX:
            _verified.popitem(last=False)


class ClinicJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token):
        token = _remembered(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)
            _remember(raw_token, token)
        if token.get(CLINIC_CLAIM) != connection.schema_name:
            raise AuthenticationFailed(
                "This token belongs to another clinic.", code="wrong_clinic"
            )
        return token

    def get_user(self, validated_token):
        """The token's user and their membership here, in one query; none when the
        clinic's own query read it for this very user (portal.middleware_api)."""
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            raise InvalidToken(
                "Token contained no recognizable user identification"
            ) from None
        found, membership = prefetched_membership(connection.tenant, user_id)
        if not found:
            membership = membership_with_user(user_id=user_id, clinic=connection.tenant)
        if membership is None:
            raise AuthenticationFailed(
                "Not a member of this clinic.", code="not_member"
            )
        user = membership.user
        user.clinic_membership = membership
        return user
