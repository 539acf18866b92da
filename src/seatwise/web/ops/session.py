"""The dashboard's session: a signed cookie, never the API key itself.

The cookie holds who signed in (role, restaurant, key id; for the admin a
fingerprint of the admin key) and the CSRF token every form must echo. It is
signed with itsdangerous (HMAC) using the configured secret, HttpOnly, SameSite=Lax,
Secure over HTTPS, and expires after `MAX_AGE`. Each request re-checks the key, so
a revoked key (or a rotated admin key) ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from seatwise.config import Settings
from seatwise.core.errors import SeatwiseError
from seatwise.runtime import Runtime
from seatwise.services.auth import Principal, principal_of_key_id

COOKIE = "seatwise_ops"
MAX_AGE = 12 * 3600  # one working day
CSRF_FIELD = "csrf"


def session_secret(settings: Settings) -> str:
    """SEATWISE_SESSION_SECRET, else one generated once and kept in the data folder."""
    if settings.session_secret:
        return settings.session_secret
    path = settings.data_dir / "session-secret"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


@dataclass(frozen=True)
class Session:
    csrf: str
    role: str | None = None  # None: not signed in (the sign-in form still has a token)
    rid: str | None = None
    key_id: str | None = None
    admin: str | None = None  # the admin key's fingerprint

    @property
    def signed_in(self) -> bool:
        return self.role is not None


def _serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    secret = getattr(state, "ops_session_secret", None)
    if not isinstance(secret, str):
        secret = state.ops_session_secret = session_secret(runtime_of(request).settings)  # read once per app
    return URLSafeTimedSerializer(secret, salt="seatwise.ops.session")


def admin_fingerprint(admin_key: str) -> str:
    return hmac.new(admin_key.encode(), b"seatwise.ops.admin", hashlib.sha256).hexdigest()[:32]


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def read(request: Request) -> Session | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
        return None
    fields = {k: data.get(k) for k in ("csrf", "role", "rid", "key_id", "admin")}
    if not all(v is None or isinstance(v, str) for v in fields.values()):
        return None
    return Session(**fields)  # type: ignore[arg-type]  # every value checked to be str or None just above


def fresh() -> Session:
    return Session(csrf=secrets.token_urlsafe(32))


def write(request: Request, response: Response, session: Session) -> None:
    value = _serializer(request).dumps(asdict(session))
    response.set_cookie(
        COOKIE,
        value,
        max_age=MAX_AGE,
        path="/ops",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/ops", httponly=True, samesite="lax")


def principal(request: Request, session: Session) -> Principal | None:
    """The session's principal, re-checked against the keys now (None: signed out)."""
    rt = runtime_of(request)
    if session.role == "admin":
        if session.admin is None or not hmac.compare_digest(session.admin, admin_fingerprint(rt.admin_key)):
            return None
        return Principal("admin", None, None)
    if session.rid is None or session.key_id is None:
        return None
    try:
        return principal_of_key_id(rt.db, session.rid, session.key_id)
    except SeatwiseError:  # unknown, revoked or foreign key: signed out
        return None


def csrf_ok(session: Session | None, token: object) -> bool:
    return session is not None and isinstance(token, str) and hmac.compare_digest(session.csrf, token)
