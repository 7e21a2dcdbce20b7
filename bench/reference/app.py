"""The reference for bench/http.py: the portal's partner API reads, done minimally.

A Starlette app on psycopg 3 (an async pool) and PyJWT that does, per request,
the work the portal does: verify the clinic-bound JWT; in one query, read the
Host header's clinic afresh (a deactivated clinic answers 503 at once) and
check the membership of the token's user there; fetch the rows; write one
access entry to the clinic's audit trail; answer the same JSON. Tables are
named with their schema, so no `SET search_path` is needed.

Configured from the environment by bench/http.py:

    REF_DSN            libpq connection string of the portal's database
    REF_SIGNING_KEY    the key that signs the portal's API tokens (HS256)
    REF_POOL_SIZE      connections per process (default 4)

Run as `uvicorn bench.reference.app:app --workers N`. Bench-only: its
dependencies are in bench/requirements.txt, not the portal's.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import jwt
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ACCESS = 3  # auditlog's LogEntry.Action.ACCESS
PATIENT_COLUMNS = (
    "p.id, p.first_name, p.last_name, p.date_of_birth, p.sex, p.phone, p.email, p.address,"
    " p.preferred_language, p.sms_consent, p.voice_consent, p.status, w.slug, p.fields,"
    " p.created_at, p.updated_at"
)
APPOINTMENT_COLUMNS = (
    'id, patient_id, provider_id, appointment_type_id, location_id, room_id, start, "end",'
    " status, source, reason, notes, is_overbooked, overbook_reason, cancel_reason,"
    " cancelled_at, created_at, updated_at"
)
TRIGRAM = "SET pg_trgm.similarity_threshold = 0.3; SET pg_trgm.word_similarity_threshold = 0.4"


async def _configure(conn) -> None:
    """Per new connection, the trigram thresholds portal.db sets."""
    await conn.execute(TRIGRAM)


pool = AsyncConnectionPool(
    os.environ.get("REF_DSN", "postgresql://postgres@127.0.0.1:5432/portal"),
    min_size=int(os.environ.get("REF_POOL_SIZE", "4")),
    max_size=int(os.environ.get("REF_POOL_SIZE", "4")),
    kwargs={"autocommit": True, "application_name": "bench-reference"},
    configure=_configure,
    open=False,
)
SIGNING_KEY = os.environ.get("REF_SIGNING_KEY", "")
_content_types: dict[str, int] = {}  # per schema, as clinic.audit caches it
_zones: dict[str, ZoneInfo] = {}


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        self.status, self.detail = status, detail


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status_code=status, media_type="application/json")


def _iso(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(tz or UTC)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


async def _member(conn, request: Request) -> tuple[dict, dict]:
    """Verify the clinic-bound token, then, in one query, the host's clinic (read
    afresh, as the portal does, so a deactivation holds at once) and the active
    membership of the token's active user there."""
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise Refused(401, "Authentication credentials were not provided.")
    try:
        claims = jwt.decode(header[7:], SIGNING_KEY, algorithms=["HS256"])
    except jwt.PyJWTError as exc:
        raise Refused(401, "Given token not valid.") from exc
    if claims.get("token_type") != "access" or "user_id" not in claims:
        raise Refused(401, "Given token not valid.")
    row = await (
        await conn.execute(
            "SELECT c.id, c.schema_name, c.timezone, c.is_active, m.id, m.role, u.id, u.email"
            " FROM public.portal_domain d JOIN public.portal_clinic c ON c.id = d.tenant_id"
            " LEFT JOIN (public.portal_membership m JOIN public.portal_user u"
            " ON u.id = m.user_id AND u.is_active)"
            " ON m.clinic_id = c.id AND m.user_id = %s AND m.is_active"
            " WHERE d.domain = %s AND NOT c.is_template LIMIT 1",
            (int(claims["user_id"]), request.headers.get("host", "").split(":")[0]),
        )
    ).fetchone()
    if row is None:
        raise Refused(404, "No such clinic.")
    if not row[3]:
        raise Refused(503, "This clinic's portal is not available.")
    if claims.get("clinic") != row[1]:
        raise Refused(401, "This token belongs to another clinic.")
    if row[4] is None:
        raise Refused(401, "Not a member of this clinic.")
    if row[1] not in _content_types:
        ct = await (
            await conn.execute(
                f'SELECT id FROM "{row[1]}".django_content_type'
                " WHERE app_label = 'clinic' AND model = 'patient'"
            )
        ).fetchone()
        _content_types[row[1]] = ct[0]
    if row[2] not in _zones:
        _zones[row[2]] = ZoneInfo(row[2])
    clinic = {"id": row[0], "schema": row[1], "tz": _zones[row[2]]}
    return clinic, {
        "membership": row[4],
        "role": row[5],
        "user_id": row[6],
        "email": row[7],
    }


async def _audit(conn, request: Request, clinic: dict, member: dict, **entry) -> None:
    """One access entry in the clinic's own trail, as clinic.audit writes it."""
    schema = clinic["schema"]
    await conn.execute(
        f'INSERT INTO "{schema}".clinic_auditentry (content_type_id, object_pk, object_id,'
        " object_repr, action, changes_text, query, patient_ids, additional_data, actor_id,"
        " actor_email, remote_addr, user_agent, cid, timestamp)"
        " VALUES (%s, %s, %s, %s, %s, '', %s, %s, %s, %s, %s, %s, %s, NULL, now())",
        (
            _content_types[schema],
            entry.get("object_pk", ""),
            entry.get("object_id"),
            entry["repr"],
            ACCESS,
            entry.get("query", "")[:300],
            entry["patient_ids"],
            Jsonb(entry["additional_data"]),
            member["user_id"],
            member["email"],
            request.client.host if request.client else None,
            request.headers.get("user-agent", "")[:300],
        ),
    )


def _patient(r: tuple) -> dict:
    return {
        "id": r[0],
        "first_name": r[1],
        "last_name": r[2],
        "date_of_birth": r[3].isoformat() if r[3] else None,
        "sex": r[4],
        "phone": r[5],
        "email": r[6],
        "address": r[7],
        "preferred_language": r[8],
        "sms_consent": r[9],
        "voice_consent": r[10],
        "status": r[11],
        "workflow": r[12],
        "fields": r[13],
        "created_at": _iso(r[14]),
        "updated_at": _iso(r[15]),
    }


def _next_link(request: Request, token: dict) -> str:
    cursor = base64.urlsafe_b64encode(json.dumps(token, separators=(",", ":")).encode())
    params = dict(request.query_params)
    params["cursor"] = cursor.decode().rstrip("=")
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{request.url.scheme}://{request.headers.get('host')}{request.url.path}?{query}"


async def _guarded(request: Request, body) -> Response:
    async with pool.connection() as conn:
        try:
            clinic, member = await _member(conn, request)
            return await body(conn, clinic, member)
        except Refused as refused:
            return _json({"detail": refused.detail}, refused.status)


async def patients(request: Request) -> Response:
    size = min(int(request.query_params.get("page_size", "50")), 200)
    q = request.query_params.get("q", "").replace("\x00", "").strip()[:200]

    async def body(conn, clinic: dict, member: dict) -> Response:
        schema = clinic["schema"]
        source = (
            f'FROM "{schema}".clinic_patient p LEFT JOIN "{schema}".clinic_workflow w'
            " ON w.id = p.workflow_id"
        )
        text = q.lower()
        if not text:
            order = "ORDER BY p.last_name, p.first_name, p.id"
            sql = f"SELECT {PATIENT_COLUMNS} {source} {order} LIMIT %s"
            params: tuple = (size + 1,)
        else:  # a name, as clinic.selectors.patient_list searches one (pg_trgm)
            words = [w for w in text.split() if len(w) >= 3][:4]
            similar = " AND ".join(["p.full_name %%> %s"] * len(words)) or "false"
            sql = (
                f"SELECT {PATIENT_COLUMNS} {source}"
                f" WHERE (p.full_name LIKE %s OR ({similar}))"
                " ORDER BY p.full_name <-> %s, p.id LIMIT %s"
            )
            like = (
                "%"
                + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                + "%"
            )
            params = (like, *words, text, size + 1)
        rows = await (await conn.execute(sql, params)).fetchall()
        page = rows[:size]
        next_link = None
        if len(rows) > size:
            last = page[-1]
            token = (
                {"o": size} if text else {"k": [last[2], last[1], last[0]], "d": "n"}
            )
            next_link = _next_link(request, token)
        await _audit(
            conn,
            request,
            clinic,
            member,
            repr=f"Patient list ({len(page)} shown)",
            query=q,
            patient_ids=[r[0] for r in page],
            additional_data={"via": "api", "filters": {}},
        )
        return _json(
            {
                "next": next_link,
                "previous": None,
                "results": [_patient(r) for r in page],
            }
        )

    return await _guarded(request, body)


async def patient_detail(request: Request) -> Response:
    pk = int(request.path_params["pk"])

    async def body(conn, clinic: dict, member: dict) -> Response:
        schema = clinic["schema"]
        row = await (
            await conn.execute(
                f'SELECT {PATIENT_COLUMNS} FROM "{schema}".clinic_patient p'
                f' LEFT JOIN "{schema}".clinic_workflow w ON w.id = p.workflow_id WHERE p.id = %s',
                (pk,),
            )
        ).fetchone()
        if row is None:
            return _json({"detail": "No Patient matches the given query."}, 404)
        await _audit(
            conn,
            request,
            clinic,
            member,
            repr=f"{row[1]} {row[2]}",
            object_pk=str(pk),
            object_id=pk,
            patient_ids=[pk],
            additional_data={"via": "api"},
        )
        return _json(_patient(row))

    return await _guarded(request, body)


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=tz)


async def appointments(request: Request) -> Response:
    size = min(int(request.query_params.get("page_size", "50")), 200)
    start = date.fromisoformat(request.query_params["start"])
    end = date.fromisoformat(request.query_params["end"])

    async def body(conn, clinic: dict, member: dict) -> Response:
        tz = clinic["tz"]
        rows = await (
            await conn.execute(
                f'SELECT {APPOINTMENT_COLUMNS} FROM "{clinic["schema"]}".clinic_appointment'
                " WHERE start >= %s AND start < %s ORDER BY start, id LIMIT %s",
                (
                    _day_start(start, tz),
                    _day_start(end + timedelta(days=1), tz),
                    size + 1,
                ),
            )
        ).fetchall()
        page = rows[:size]
        shown = list(dict.fromkeys(r[1] for r in page))
        await _audit(
            conn,
            request,
            clinic,
            member,
            repr=f"Appointment list ({len(shown)} shown)",
            patient_ids=shown,
            additional_data={
                "via": "api",
                "filters": {"start": str(start), "end": str(end)},
            },
        )
        results = [
            {
                "id": r[0],
                "patient": r[1],
                "provider": r[2],
                "appointment_type": r[3],
                "location": r[4],
                "room": r[5],
                "start": _iso(r[6], tz),
                "end": _iso(r[7], tz),
                "status": r[8],
                "source": r[9],
                "reason": r[10],
                "notes": r[11],
                "is_overbooked": r[12],
                "overbook_reason": r[13],
                "cancel_reason": r[14],
                "cancelled_at": _iso(r[15]),
                "created_at": _iso(r[16]),
                "updated_at": _iso(r[17]),
            }
            for r in page
        ]
        next_link = (
            _next_link(request, {"p": str(page[-1][6])}) if len(rows) > size else None
        )
        return _json({"next": next_link, "previous": None, "results": results})

    return await _guarded(request, body)


async def lifespan(app: Starlette):
    await pool.open(wait=True)
    yield
    await pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/patients/", patients),
        Route("/api/v1/patients/{pk:int}/", patient_detail),
        Route("/api/v1/appointments/", appointments),
    ],
    lifespan=lifespan,
)
