"""`seatwise` command line: run the server, manage the database, import/export venues."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from seatwise.config import InvalidSetting, Settings, load_settings
from seatwise.core.errors import SeatwiseError
from seatwise.services.results import to_json

if TYPE_CHECKING:
    from seatwise.runtime import Demo, Runtime

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
venue_app = typer.Typer(no_args_is_help=True, help="Import and export venue documents.")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
app.add_typer(venue_app, name="venue")
app.add_typer(db_app, name="db")
jobs_app = typer.Typer(no_args_is_help=True, help="Run one pass of a background job (DESIGN §10).")
app.add_typer(jobs_app, name="jobs")
bookings_app = typer.Typer(no_args_is_help=True, help="Bookings.")
app.add_typer(bookings_app, name="bookings")


def _fail(exc: SeatwiseError) -> NoReturn:
    typer.echo(f"error {exc.code.value}: {exc.detail}", err=True)
    for problem in exc.fields.get("problems", []):
        typer.echo(f"  {problem['path']}: {problem['message']}", err=True)
    raise typer.Exit(2)


def _settings() -> Settings:
    try:
        return load_settings()
    except InvalidSetting as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@db_app.command("up")
def db_up() -> None:
    """Start the embedded PostgreSQL (or reach DATABASE_URL) and migrate."""
    from seatwise import runtime

    started = time.perf_counter()
    rt = runtime.start(_settings(), pool_size=2)
    typer.echo(f"database ready and migrated in {time.perf_counter() - started:.2f}s: {rt.db.url}")
    rt.close()


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL of the data folder (it keeps running after `serve`)."""
    from seatwise.store import server

    settings = _settings()
    if settings.database_url:
        typer.echo("error: DATABASE_URL is set: there is no embedded server to stop", err=True)
        raise typer.Exit(2)
    if server.stop_embedded(settings):
        typer.echo(f"stopped the embedded PostgreSQL in {settings.pgdata}")
    else:
        typer.echo(f"the embedded PostgreSQL in {settings.pgdata} is not running")


@venue_app.command("import")
def venue_import(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Create a restaurant from a venue document (YAML or JSON). Prints its id and keys."""
    from seatwise import runtime
    from seatwise.core.venue_doc import load_document_text
    from seatwise.services import restaurants

    rt = runtime.start(_settings(), pool_size=2)
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

    rt = runtime.start(_settings(), pool_size=2)
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
    rt = runtime.start(_settings(), pool_size=2)
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


def _keys_block(url: str, admin_key: str, admin_key_from: str, demo: Demo | None) -> str:
    """What a newcomer needs to try the API, as a block that reads at a glance."""
    rows = [("admin key", admin_key)]
    kept = [admin_key_from]
    if demo is not None:
        rows.append(("demo restaurant", f"{demo.restaurant_id or '(id not kept here)'}  ({demo.slug})"))
        if demo.keys:
            order = ["staff", "channel", *sorted(demo.keys)]
            rows += [(f"{role} key", demo.keys[role]) for role in dict.fromkeys(order) if role in demo.keys]
            kept.append(str(demo.kept_in))
        else:
            rows.append(("demo keys", "not kept in this data folder: it was loaded earlier; rotate with /api-keys"))
    rows += [("kept in", ", ".join(kept)), ("stop the database", "seatwise db stop")]
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"Seatwise on {url}  (API docs: {url}/docs)", ""]
    lines += [f"  {name.ljust(width)}{value}" for name, value in rows]
    return "\n".join([*lines, ""])


@app.command()
def serve(
    demo: Annotated[bool, typer.Option(help="load the demo venue (examples/demo-bistro.yaml) once")] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=16, help="API processes; a crashed one is replaced while the others serve")
    ] = 2,
    worker: Annotated[bool, typer.Option(help="start one `seatwise worker` process beside the API")] = True,
) -> None:
    """Start the database, migrate, (load the demo,) and serve the API and dashboard."""
    import uvicorn

    from seatwise import runtime
    from seatwise.api.protocol import SERVER_OPTIONS, NoDelayHttpToolsProtocol
    from seatwise.logs import uvicorn_log_config

    settings = _settings()
    started = time.perf_counter()
    rt = runtime.start(settings, pool_size=2)
    typer.echo(f"database ready in {time.perf_counter() - started:.2f}s")
    sys.stdout.flush()
    try:
        shown = runtime.load_demo(rt) if demo else None
        rt.secret_box  # noqa: B018 - creates the webhook key once, before the worker and the API read it
    except SeatwiseError as exc:
        _fail(exc)
    finally:
        rt.close()
    from_env = "SEATWISE_ADMIN_KEY (environment)" if settings.admin_key else str(runtime.admin_key_path(settings))
    typer.echo(_keys_block(f"http://{settings.host}:{settings.port}", rt.admin_key, from_env, shown))
    child = None
    if worker:
        from seatwise.jobs.worker import spawn

        child = spawn(settings)
        typer.echo(f"worker pid {child.pid}")
    sys.stdout.flush()
    # uvicorn shuts down on SIGTERM, then re-raises it under the previous handler: this
    # one, so the `finally` below stops the worker and the exit is clean.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(
            "seatwise.api.main:app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            http=NoDelayHttpToolsProtocol,
            loop="uvloop",
            log_config=uvicorn_log_config(settings.log_level),
            access_log=False,  # seatwise.access writes one JSON line per request instead
            **SERVER_OPTIONS,
        )
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=30)


@app.command("worker")
def worker_command(
    metrics_port: Annotated[int | None, typer.Option(min=1, max=65535, help="serve /metrics on this port")] = None,
) -> None:
    """Run every background job until stopped: hold sweeper, archival, retention, outbox relay."""
    import signal

    # A stop asked for while the worker is still starting (imports, migrations) ends it
    # cleanly; once running, procrastinate's own handlers take over and drain the jobs.
    def stop_while_starting(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_while_starting)
    typer.echo(f"worker {os.getpid()} starting", err=True)
    from dataclasses import replace

    from seatwise import runtime
    from seatwise.jobs import worker
    from seatwise.logs import configure

    settings = _settings()
    configure(settings.log_level)  # JSON lines, procrastinate's included
    if metrics_port is not None:
        settings = replace(settings, worker_metrics_port=metrics_port)
    rt = runtime.start(settings, pool_size=4)
    typer.echo(f"worker {os.getpid()} running", err=True)
    try:
        worker.run(rt)
    finally:
        rt.close()


def _job_runtime() -> Runtime:
    from seatwise import runtime

    return runtime.start(_settings(), pool_size=4)


@jobs_app.command("sweep-holds")
def jobs_sweep_holds() -> None:
    """Announce expired holds (hold.expired) and delete those past the grace period."""
    from seatwise.jobs import passes

    rt = _job_runtime()
    try:
        typer.echo(json.dumps(to_json(passes.sweep_holds(rt))))
    finally:
        rt.close()


@jobs_app.command("archive-allocations")
def jobs_archive_allocations(
    retention_days: Annotated[int, typer.Option(min=0, max=36500)] = 30,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 500,
) -> None:
    """Move allocations that ended more than --retention-days ago to the archive, in batches."""
    from seatwise.jobs import passes

    def progress(moved: int) -> None:
        typer.echo(f"batch: {moved} archived")
        sys.stdout.flush()  # a supervisor (or a test) sees each committed batch

    rt = _job_runtime()
    try:
        done = passes.archive_allocations(rt, retention_days=retention_days, batch_size=batch_size, on_batch=progress)
        typer.echo(json.dumps(to_json(done)))
    finally:
        rt.close()


@jobs_app.command("prune-records")
def jobs_prune_records() -> None:
    """Delete confirmation results, idempotency records and relayed events past retention."""
    from seatwise.jobs import passes

    rt = _job_runtime()
    try:
        typer.echo(json.dumps(to_json(passes.prune_records(rt))))
    finally:
        rt.close()


@jobs_app.command("relay-outbox")
def jobs_relay_outbox(
    once: Annotated[bool, typer.Option("--once", help="relay until nothing is due, then exit")] = False,
) -> None:
    """Deliver outbox events to webhooks (continuously, or --once)."""
    from seatwise.jobs import passes, worker

    rt = _job_runtime()
    try:
        if once:
            typer.echo(json.dumps(to_json(passes.relay_until_idle(rt))))
        else:
            worker.relay_until_signalled(rt)
    finally:
        rt.close()


@app.command("audit")
def audit_command() -> None:
    """Audit every restaurant's ledger; exit 1 when anything is found (it must never be)."""
    from seatwise.jobs import passes

    rt = _job_runtime()
    try:
        report = passes.ledger_audit(rt)
    finally:
        rt.close()
    for finding in report.findings:
        typer.echo(f"{finding.kind}\t{finding.restaurant_id}\t{finding.detail}")
    typer.echo(json.dumps({"at": report.at.isoformat(), "findings": report.counts}))
    if not report.clean:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
