"""API keys (list, create with the secret shown once, revoke) and webhooks."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Response

from seatwise.core.errors import SeatwiseError
from seatwise.core.events import EventType
from seatwise.services import restaurants, webhooks
from seatwise.services.auth import Permission
from seatwise.services.results import CreatedApiKey
from seatwise.web.ops.common import CheckedForm, Ctx, CtxDep, field, page, router

RECENT_DELIVERIES = 5  # per webhook on the page; the API lists up to 100


def _keys_page(
    ctx: Ctx,
    rid: str,
    *,
    created: CreatedApiKey | None = None,
    created_hook: webhooks.CreatedWebhook | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    hooks = webhooks.list_webhooks(ctx.rt.db, rid) if ctx.principal.may(Permission.MANAGE_WEBHOOKS) else []
    response = page(
        ctx.request,
        "ops/keys.html",
        {
            "rid": rid,
            "keys": restaurants.list_api_keys(ctx.rt.db, rid),
            "created": created,
            "created_hook": created_hook,
            "error": error,
            "own_key": ctx.principal.key_id,
            "webhooks": [(h, webhooks.deliveries(ctx.rt.db, rid, h.id, RECENT_DELIVERIES)) for h in hooks],
            "event_types": [e.value for e in EventType],
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
    return _changed(ctx, rid, lambda: restaurants.revoke_api_key(ctx.rt.db, rid, key_id))


@router.post("/{rid}/webhooks")
def create_webhook(ctx: CtxDep, rid: str, form: CheckedForm) -> Response:
    rid = ctx.restaurant(rid, Permission.MANAGE_WEBHOOKS)
    events = [str(e) for e in form.getlist("events")] or ["*"]
    request = webhooks.WebhookRequest(field(form, "url"), events, field(form, "description"))
    try:
        created = webhooks.register(
            ctx.rt.db, rid, request, ctx.rt.secret_box, allow_private=ctx.rt.settings.webhook_allow_private
        )
    except SeatwiseError as exc:
        return _keys_page(ctx, rid, error=str(exc), status=exc.status)
    return _keys_page(ctx, rid, created_hook=created)  # the secret, once


@router.post("/{rid}/webhooks/{webhook_id}/delete")
def delete_webhook(ctx: CtxDep, rid: str, webhook_id: str, form: CheckedForm) -> Response:
    del form  # checked
    rid = ctx.restaurant(rid, Permission.MANAGE_WEBHOOKS)
    return _changed(ctx, rid, lambda: webhooks.delete_webhook(ctx.rt.db, rid, webhook_id))


def _changed(ctx: Ctx, rid: str, change: Callable[[], None]) -> Response:
    """Make a change, then show the page again (with the refusal, if it was refused)."""
    try:
        change()
    except SeatwiseError as exc:
        return _keys_page(ctx, rid, error=str(exc), status=exc.status)
    return _keys_page(ctx, rid)
