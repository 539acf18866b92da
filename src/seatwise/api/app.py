"""The FastAPI application: wiring, authentication and the error handlers.

Routes are thin: parse, authorize, call a service, render. Every refusal is a
`SeatwiseError` rendered by one function (`api.problems.problem_response`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from seatwise.api.fastpath import FastPath
from seatwise.api.guard import GuardMiddleware
from seatwise.api.metrics import MetricsMiddleware
from seatwise.api.problems import PROBLEM_SCHEMA, problem_response, unexpected_response
from seatwise.api.requestctx import RequestContextMiddleware
from seatwise.core.errors import (
    ERROR_CATALOGUE,
    ErrorCode,
    SeatwiseError,
    ValidationFailed,
    error_for,
)
from seatwise.runtime import Runtime

_log = logging.getLogger(__name__)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "$"


# Operations whose body is a venue document: validated by core.venue_doc (every
# problem with its path), so FastAPI sees a plain object; the schema names it.
VENUE_DOCUMENT_BODIES = ("createRestaurant", "replaceVenue")


def _venue_document_bodies(schema: dict[str, Any], components: dict[str, Any]) -> None:
    from seatwise.api.venue_schema import VenueDocument

    described = VenueDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in described.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault("VenueDocument", described)
    for path in schema["paths"].values():
        for operation in path.values():
            if operation.get("operationId") in VENUE_DOCUMENT_BODIES:
                content = operation["requestBody"]["content"]["application/json"]
                content["schema"] = {"$ref": "#/components/schemas/VenueDocument"}


def create_app(runtime: Runtime) -> FastAPI:
    from seatwise.api import routes  # routes import the app's dependencies
    from seatwise.web import app as web

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await runtime.reads.close()  # the read probe's pool lives on this loop

    app = FastAPI(
        lifespan=lifespan,
        title="Seatwise",
        version="1",
        description="Race-safe capacity, availability and table assignment for restaurants.",
        docs_url=None,  # served below from the package's own Swagger UI files (works offline)
        redoc_url=None,  # ReDoc would load from a CDN
        # No OpenTelemetry here (metrics are Prometheus', /metrics): FastAPI's own
        # telemetry is off, so no request looks up OpenTelemetry providers.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.runtime = runtime

    @app.exception_handler(SeatwiseError)
    async def seatwise_error(_: Request, exc: SeatwiseError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"path": _location(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in exc.errors()
        ]
        first = errors[0] if errors else {"path": "$", "message": "invalid request"}
        return problem_response(ValidationFailed(f"{first['path']}: {first['message']}", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED}.get(exc.status_code)
        if code is None:
            code = ErrorCode.VALIDATION_ERROR if exc.status_code < 500 else ErrorCode.INTERNAL_ERROR
        detail = exc.detail if isinstance(exc.detail, str) else ERROR_CATALOGUE[code][1]
        return problem_response(error_for(code, detail))

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(psycopg.InterfaceError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        return unexpected_response(exc)

    for router in routes.ROUTERS:
        app.include_router(router)
    web.mount(app)
    # Swagger UI 5 as PyPI `fastapi-offline` ships it (only its files are used).
    swagger_ui = resources.files("fastapi_offline") / "static"
    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Seatwise API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )

    app.add_middleware(FastPath, routes=routes.bookings.router.routes)  # innermost of ours: api.fastpath
    app.add_middleware(GuardMiddleware)
    app.add_middleware(MetricsMiddleware)  # counts the guard's refusals too
    app.add_middleware(RequestContextMiddleware)  # outermost: every later log line has the id

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = PROBLEM_SCHEMA
            _venue_document_bodies(schema, components)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
    return app
