"""`/docs` renders with no internet (issue 9): every request the page makes outside
the app is refused, and Swagger UI still shows the API."""

from __future__ import annotations

from playwright.sync_api import Page, Route

from tests.web.conftest import screenshot


def test_docs_render_offline(page: Page, base_url: str) -> None:
    outside: list[str] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_app)
    page.goto(f"{base_url}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Seatwise" in page.inner_text(".swagger-ui .info .title")
    page.get_by_text("/v1/restaurants/{rid}/bookings", exact=True).first.wait_for()
    screenshot(page, "docs-offline")
    assert outside == []
