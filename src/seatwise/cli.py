"""`seatwise` command line: run the server, manage the database, import/export venues."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seatwise.config import load_settings
from seatwise.core.errors import SeatwiseError, SlugTaken
from seatwise.services.results import to_json

if TYPE_CHECKING:
    from seatwise.runtime import Runtime

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
venue_app = typer.Typer(no_args_is_help=True, help="Import and export venue documents.")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
app.add_typer(venue_app, name="venue")
app.add_typer(db_app, name="db")

DEMO = Path("examples/demo-bistro.yaml")


def _fail(exc: SeatwiseError) -> None:
    typer.echo(f"error {exc.code.value}: {exc.detail}", err=True)
    for problem in exc.fields.get("problems", []):
        typer.echo(f"  {problem['path']}: {problem['message']}", err=True)
    raise typer.Exit(2)


@db_app.command("up")
def db_up() -> None:
    """Start the embedded PostgreSQL (or reach DATABASE_URL) and migrate."""
    from seatwise import runtime

    started = time.perf_counter()
    rt = runtime.start(load_settings(), pool_size=2)
    typer.echo(f"database ready and migrated in {time.perf_counter() - started:.2f}s: {rt.db.url}")
    rt.close()


@venue_app.command("import")
def venue_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Create a restaurant from a venue document (YAML or JSON). Prints its id and keys."""
    from seatwise import runtime
    from seatwise.core.venue_doc import load_document_text
    from seatwise.services import restaurants

    rt = runtime.start(load_settings(), pool_size=2)
    try:
        created = to_json(restaurants.create_restaurant(rt.db, load_document_text(file.read_text())))
    except SeatwiseError as exc:
        _fail(exc)
    finally:
        rt.close()
    typer.echo(json.dumps(created, indent=2, default=str))


@venue_app.command("export")
def venue_export(restaurant_id: str, fmt: Annotated[str, typer.Option("--format")] = "yaml") -> None:
    """Print a restaurant's venue document (canonical form)."""
    import yaml

    from seatwise import runtime
    from seatwise.services import restaurants

    rt = runtime.start(load_settings(), pool_size=2)
    try:
        doc = restaurants.export_venue(rt.db, restaurant_id)
    except SeatwiseError as exc:
        _fail(exc)
    finally:
        rt.close()
    if fmt == "json":
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _load_demo(rt: Runtime) -> dict[str, object]:
    """Load the demo venue once; its keys are kept in the data folder (dev convenience)."""
    from seatwise.core.venue_doc import load_document_text
    from seatwise.services import restaurants

    saved = rt.settings.data_dir / "demo-restaurant.json"
    try:
        created: dict[str, object] = to_json(restaurants.create_restaurant(rt.db, load_document_text(DEMO.read_text())))
    except SlugTaken:
        if saved.exists():
            loaded: dict[str, object] = json.loads(saved.read_text())
            return loaded
        return {"slug": "demo-bistro", "note": "loaded earlier; its keys were not kept here"}
    saved.write_text(json.dumps(created, indent=2, default=str))
    saved.chmod(0o600)
    return created


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="load examples/demo-bistro.yaml once")] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=16, help="worker processes; a crashed one is replaced while the others serve")
    ] = 2,
) -> None:
    """Start the database, migrate, (load the demo,) and serve the API and dashboard."""
    import uvicorn

    from seatwise import runtime
    from seatwise.api.protocol import SERVER_OPTIONS, NoDelayHttpToolsProtocol

    settings = load_settings()
    started = time.perf_counter()
    rt = runtime.start(settings, pool_size=2)
    typer.echo(f"database ready in {time.perf_counter() - started:.2f}s")
    if demo:
        shown = _load_demo(rt)
        typer.echo(f"demo restaurant: {json.dumps(shown, default=str)}")
    rt.close()
    typer.echo(f"admin key: {rt.admin_key}")
    typer.echo(f"serving on http://{settings.host}:{settings.port}")
    sys.stdout.flush()
    uvicorn.run(
        "seatwise.api.main:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        http=NoDelayHttpToolsProtocol,
        loop="uvloop",
        log_level="warning",
        access_log=False,
        **SERVER_OPTIONS,
    )


if __name__ == "__main__":
    app()
