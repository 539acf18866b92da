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
bookings_app = typer.Typer(no_args_is_help=True, help="Bookings.")
app.add_typer(bookings_app, name="bookings")

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


def _import_rows(file: Path) -> list[object]:
    """The rows of a CSV file (a header line of column names) or a JSON array."""
    import csv

    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".json" or (file.suffix.lower() != ".csv" and text.lstrip().startswith("[")):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            typer.echo(f"error VALIDATION_ERROR: {file}: not JSON ({exc})", err=True)
            raise typer.Exit(2) from None
        if not isinstance(loaded, list):
            typer.echo(f"error VALIDATION_ERROR: {file}: a JSON array of rows was expected", err=True)
            raise typer.Exit(2)
        return loaded
    return list(csv.DictReader(text.splitlines()))


@bookings_app.command("import")
def bookings_import(restaurant_id: str, file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import bookings from CSV or JSON (columns start, party_size, name, phone, email,
    status, tables, external_ref). Prints every row's outcome; idempotent by external_ref."""
    from seatwise import runtime
    from seatwise.services import imports
    from seatwise.services.auth import SYSTEM

    rows = _import_rows(file)
    rt = runtime.start(load_settings(), pool_size=2)
    started = time.perf_counter()
    try:
        result = imports.import_bookings(rt.db, restaurant_id, rows, SYSTEM)
    except SeatwiseError as exc:
        _fail(exc)
    finally:
        rt.close()
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()))
    typer.echo(f"imported {len(rows)} rows in {elapsed:.2f}s: {counts}", err=True)
    typer.echo(json.dumps(to_json(result), indent=2))


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
    workers: Annotated[int, typer.Option(min=1, max=16)] = 1,
) -> None:
    """Start the database, migrate, (load the demo,) and serve the API and dashboard."""
    import uvicorn

    from seatwise import runtime
    from seatwise.api.protocol import NoDelayHttpToolsProtocol

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
    )


if __name__ == "__main__":
    app()
