"""API keys (list, create with the secret shown once, revoke) and webhooks."""

from __future__ import annotations

from fastapi import Response

from seatwise.core.errors import SeatwiseError
from seatwise.services import restaurants
from seatwise.services.auth import Permission
from seatwise.services.results import CreatedApiKey
from seatwise.web.ops.common import CheckedForm, Ctx, CtxDep, field, page, router


def _keys_page(
    ctx: Ctx, rid: str, *, created: CreatedApiKey | None = None, error: str | None = None, status: int = 200
) -> Response:
    response = page(
        ctx.request,
        "ops/keys.html",
        {
            "rid": rid,
            "keys": restaurants.list_api_keys(ctx.rt.db, rid),
            "created": created,
            "error": error,
            "own_key": ctx.principal.key_id,
        },
        status=status,
    )
    return response


@router.get("/{rid}/keys")
def keys(ctx: CtxDep, rid: str) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_KEYS)
    return _keys_page(ctx, rid)


@router.post("/{rid}/keys")
def create_key(ctx: CtxDep, rid: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_KEYS)
    try:
        created = restaurants.create_api_key(ctx.rt.db, rid, field(form, "role"))
    except SeatwiseError as exc:
        return _keys_page(ctx, rid, error=str(exc), status=exc.status)
    return _keys_page(ctx, rid, created=created)  # the secret, once: this answer is not cached


@router.post("/{rid}/keys/{key_id}/revoke")
def revoke_key(ctx: CtxDep, rid: str, key_id: str, form: CheckedForm) -> Response:
    del form  # checked
    rid = ctx.restaurant(rid, Permission.MANAGE_KEYS)
    try:
        restaurants.revoke_api_key(ctx.rt.db, rid, key_id)
    except SeatwiseError as exc:
        return _keys_page(ctx, rid, error=str(exc), status=exc.status)
    return _keys_page(ctx, rid)
