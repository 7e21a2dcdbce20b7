"""WebSocket plumbing: the clinic comes from the Host header, as for HTTP.

Who may open a clinic's socket (README "Live updates"):

- a signed-in member of the clinic, by session cookie, from a page of the
  clinic's own site (Origin equal to the Host the socket was opened on);
- a partner's program with an API access token of the clinic, offered as the
  subprotocols `portal-token, <access token>` (the `Sec-WebSocket-Protocol`
  header; browsers send it with `new WebSocket(url, ["portal-token", token])`).
  A token socket needs no Origin and its cookies are ignored; it is accepted
  with the subprotocol `portal-token`.

A refused socket is accepted and closed at once with a code the page can read
(a refusal during the handshake reaches browsers as a bare 1006):

- 4401: not authenticated (no session, no token, or a bad or expired token);
- 4403: authenticated but not allowed (not a member of this clinic, the token
  or password belongs elsewhere or expired, deactivated user, wrong Origin);
- 4404: no clinic answers to this host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.db import connection
from django_tenants.utils import remove_www

from portal.models import Domain

TOKEN_PROTOCOL = "portal-token"
NOT_AUTHENTICATED = 4401
FORBIDDEN = 4403
UNKNOWN_CLINIC = 4404


@database_sync_to_async
def _clinic_for_host(host: str):
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=host, tenant__is_template=False, tenant__is_active=True)
        .exclude(tenant__schema_name="public")
        .first()
    )
    return domain.tenant if domain else None


def _same_origin(origin: bytes, host: bytes) -> bool:
    """Whether a browser's Origin header names exactly the host it connects to."""
    try:
        parts = urlsplit(origin.decode("latin-1"))
    except ValueError:
        return False
    same_host = parts.netloc.lower() == host.decode("latin-1").lower()
    return parts.scheme in ("http", "https") and same_host


def offered_token(scope: dict) -> str | None:
    """The access token a socket offers as a subprotocol; None when it offers none
    (then it is a session socket), "" when it names the protocol but no token."""
    offered = list(scope.get("subprotocols") or [])
    if TOKEN_PROTOCOL not in offered:
        return None
    return next((p for p in offered if p != TOKEN_PROTOCOL), "")


async def refuse(scope: dict, receive, send, code: int) -> None:
    """Accept, then close with `code` at once, so the client can read why."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    accept = {"type": "websocket.accept"}
    if offered_token(scope) is not None:
        accept["subprotocol"] = TOKEN_PROTOCOL  # browsers fail a socket without it
    await send(accept)
    await send({"type": "websocket.close", "code": code})


class ClinicOriginValidator:
    """Accept a session socket only from a page of the clinic's own site.

    Browsers send the cookie of clinic A's site along with a socket opened by
    any page, so the Origin must be A's own origin (scheme://host[:port] equal
    to the Host the socket was opened on); another clinic's page, another
    site, or a missing Origin is closed with 4403 before anything else runs.
    A token socket carries its credential itself (no cookie is used), so it
    may come from anywhere, or with no Origin at all.
    """

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if offered_token(scope) is None:
            headers = dict(scope.get("headers") or [])
            origin, host = headers.get(b"origin"), headers.get(b"host")
            if not origin or not host or not _same_origin(origin, host):
                return await refuse(scope, receive, send, FORBIDDEN)
        return await self.inner(scope, receive, send)


class ClinicHostMiddleware:
    """Put the clinic of the Host header in the scope; refuse unknown hosts."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        host = remove_www(headers.get(b"host", b"").decode("latin-1").split(":")[0])
        clinic = await _clinic_for_host(host)
        if clinic is None:
            return await refuse(scope, receive, send, UNKNOWN_CLINIC)
        return await self.inner({**scope, "clinic": clinic}, receive, send)


# --- Who is on the other end ----------------------------------------------------------


@dataclass(frozen=True)
class SocketAccess:
    """The verdict on a socket: a close code, or who it is and until when."""

    refused: int | None = None
    user_id: int | None = None
    membership_id: int | None = None  # notification events go to this member only
    expires_at: datetime | None = None  # a token's expiry: the socket closes then


@database_sync_to_async
def socket_access(scope: dict) -> SocketAccess:
    """Session or token, checked as pages and the API check them."""
    clinic = scope["clinic"]
    token = offered_token(scope)
    if token is None:
        return _session_access(clinic, scope.get("user"))
    connection.set_tenant(clinic)  # the JWT checks read the current clinic
    try:
        return _token_access(token)
    finally:
        connection.set_schema_to_public()


def _session_access(clinic, user) -> SocketAccess:
    from portal.selectors import membership_for, password_expired

    if user is None or not user.is_authenticated:
        return SocketAccess(refused=NOT_AUTHENTICATED)
    membership = membership_for(user=user, clinic=clinic)
    if membership is None:
        return SocketAccess(refused=FORBIDDEN)
    if password_expired(user=user, clinic=clinic):
        return SocketAccess(refused=FORBIDDEN)
    return SocketAccess(user_id=user.pk, membership_id=membership.pk)


def _token_access(raw: str) -> SocketAccess:
    """The partner API's own authentication (portal.api.authentication)."""
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework_simplejwt.exceptions import InvalidToken

    from portal.api.authentication import ClinicJWTAuthentication

    if not raw:
        return SocketAccess(refused=NOT_AUTHENTICATED)
    auth = ClinicJWTAuthentication()
    try:
        token = auth.get_validated_token(raw.encode("latin-1", "replace"))
        user = auth.get_user(token)
    except InvalidToken:
        return SocketAccess(refused=NOT_AUTHENTICATED)  # malformed, forged, expired
    except AuthenticationFailed:
        return SocketAccess(refused=FORBIDDEN)  # another clinic's, not a member
    from portal.selectors import membership_with_user

    membership = membership_with_user(user_id=user.pk, clinic=connection.tenant)
    if membership is None:
        return SocketAccess(refused=FORBIDDEN)
    return SocketAccess(
        user_id=user.pk,
        membership_id=membership.pk,
        expires_at=datetime.fromtimestamp(token["exp"], tz=UTC),
    )
