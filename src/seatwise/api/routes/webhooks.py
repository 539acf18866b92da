"""Webhooks (DESIGN §10): staff or admin keys; a channel key gets 403."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from seatwise.api.deps import PrincipalDep, RestaurantId, RuntimeDep
from seatwise.api.problems import TENANT_PROBLEMS
from seatwise.services import webhooks
from seatwise.services.auth import Permission, authorize
from seatwise.services.results import to_json

router = APIRouter(prefix="/v1/restaurants/{rid}/webhooks", tags=["webhooks"], responses=TENANT_PROBLEMS)

EventName = Annotated[str, Field(min_length=1, max_length=64)]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, examples=["https://example.com/seatwise"])
    events: list[EventName] = Field(min_length=1, max_length=50, examples=[["booking.created"], ["*"]])
    description: str = Field(default="", max_length=500)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    created_at: str


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_ + base64 of 32 random bytes; shown only in this answer")


class DeliveryOut(BaseModel):
    event_id: str = Field(description="the event's id, also its webhook-id header")
    type: str
    attempt: int
    status: str = Field(description="delivered | retrying | dead")
    response_status: int | None
    error: str | None
    at: str


@router.post("", status_code=201, response_model=WebhookCreated, operation_id="createWebhook")
def create_webhook(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, body: WebhookIn, response: Response) -> Any:
    """Register a URL for events; the signing secret is in this answer only."""
    authorize(who, rid, Permission.MANAGE_WEBHOOKS)
    request = webhooks.WebhookRequest(body.url, body.events, body.description)
    created = webhooks.register(rt.db, rid, request, rt.secret_box, allow_private=rt.settings.webhook_allow_private)
    response.headers["Cache-Control"] = "no-store"
    return to_json(created)


@router.get("", response_model=list[WebhookOut], operation_id="listWebhooks")
def list_webhooks(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId) -> Any:
    authorize(who, rid, Permission.MANAGE_WEBHOOKS)
    return to_json(webhooks.list_webhooks(rt.db, rid))


@router.delete("/{webhook_id}", status_code=204, operation_id="deleteWebhook")
def delete_webhook(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, webhook_id: str) -> Response:
    authorize(who, rid, Permission.MANAGE_WEBHOOKS)
    webhooks.delete_webhook(rt.db, rid, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut], operation_id="listWebhookDeliveries")
def list_deliveries(rt: RuntimeDep, who: PrincipalDep, rid: RestaurantId, webhook_id: str) -> Any:
    """The webhook's most recent delivery attempts (up to 100), newest first."""
    authorize(who, rid, Permission.MANAGE_WEBHOOKS)
    return to_json(webhooks.deliveries(rt.db, rid, webhook_id))
