"""Outbox event types: the one list the services emit, the relay delivers, webhooks
subscribe to and the docs describe."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    BOOKING_CREATED = "booking.created"
    BOOKING_CONFIRMED = "booking.confirmed"
    BOOKING_SEATED = "booking.seated"
    BOOKING_COMPLETED = "booking.completed"
    BOOKING_CANCELLED = "booking.cancelled"
    BOOKING_NO_SHOW = "booking.no_show"
    BOOKING_RESCHEDULED = "booking.rescheduled"
    HOLD_CREATED = "hold.created"
    HOLD_CONFIRMED = "hold.confirmed"
    HOLD_RELEASED = "hold.released"
    HOLD_EXPIRED = "hold.expired"
    ASSIGNMENT_CHANGED = "assignment.changed"
    BLOCK_CREATED = "block.created"
    BLOCK_DELETED = "block.deleted"
