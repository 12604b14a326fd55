"""The `temporallite` command line: flags, logging, banner, signals.

Imports at module level stay light (click and the stdlib): the server and rich
are imported inside the command, so `temporallite --version` answers at once
and `temporallite start` pays only for what it uses.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from temporallite import __version__

if TYPE_CHECKING:
    from temporallite.config import ServerConfig

LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
EXIT_USAGE = 2  # what click uses for bad flags; start-up failures use it too
MEMORY_DB = ":memory:"

log = logging.getLogger("temporallite.cli")


class StartupError(Exception):
    """A start-up failure the user can act on: printed as one line, exit 2."""


# -- logging -------------------------------------------------------------------

# Attributes every LogRecord has; anything else was passed through `extra=`.
_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, fmt: str) -> None:
    handler: logging.Handler
    if fmt == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif not sys.stderr.isatty():
        # Test fixtures and CI read a pipe: plain lines, and no rich import on the start-up path.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(message)s", "%H:%M:%S"))
    else:
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(stderr=True),
            show_path=False,
            log_time_format="%H:%M:%S",
            rich_tracebacks=False,
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LOG_LEVELS[level])
    # aiosqlite logs every statement at DEBUG: too much even for --log-level debug.
    logging.getLogger("aiosqlite").setLevel(max(LOG_LEVELS[level], logging.INFO))


# -- banner --------------------------------------------------------------------


def print_banner(config: ServerConfig, namespaces: Sequence[str]) -> None:
    rows = {
        "gRPC": config.target,
        "database": config.db_filename or MEMORY_DB,
        "namespaces": ", ".join(namespaces),
    }
    if not sys.stdout.isatty():
        # Plain text for pipes (test fixtures, CI): rich costs ~12 ms of start-up.
        lines = [f"temporallite {__version__} is ready (Ctrl-C to stop)"]
        lines += [f"  {label:<12}{value}" for label, value in rows.items()]
        print("\n".join(lines), flush=True)
        return
    from rich.console import Console
    from rich.markup import escape

    # soft_wrap: never truncate or pad a long path to the terminal width.
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold green]temporallite {__version__}[/] is ready (Ctrl-C to stop)")
    rows["gRPC"] = f"[cyan]{config.target}[/]"
    for label, value in rows.items():
        markup = value if label == "gRPC" else escape(value)
        console.print(f"  [bold]{label:<12}[/]{markup}")


# -- serving -------------------------------------------------------------------


def _listen_error(config: ServerConfig, exc: OSError) -> StartupError:
    if exc.errno is not None and exc.errno in errno.errorcode:
        reason = os.strerror(exc.errno)
    else:
        reason = str(exc.strerror or exc)
    reason = reason[:1].lower() + reason[1:]
    return StartupError(f"cannot listen on {config.target}: {reason}")


async def serve(config: ServerConfig) -> None:
    """Start the server, print the banner, run until SIGINT/SIGTERM, stop."""
    import asyncio
    import sqlite3

    from temporallite.server import TemporalLiteServer

    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()

    def request_stop(signame: str) -> None:
        if stop_requested.is_set():
            log.warning("received %s again: exiting without a clean shutdown", signame)
            os._exit(1)
        log.info("received %s: shutting down", signame)
        stop_requested.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, request_stop, sig.name)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(sig, lambda s, _f: loop.call_soon_threadsafe(request_stop, signal.Signals(s).name))

    server = TemporalLiteServer(config)
    try:
        await server.start()
    except sqlite3.Error as exc:
        database = config.db_filename or MEMORY_DB
        raise StartupError(f"cannot open database {database}: {exc}") from exc
    except OSError as exc:
        raise _listen_error(config, exc) from exc
    except Exception as exc:
        raise StartupError(f"cannot start: {type(exc).__name__}: {exc}") from exc

    namespaces = ["default", *(ns for ns in config.namespaces if ns != "default")]
    print_banner(config, namespaces)
    if config.log_format == "json":
        log.info(
            "server started",
            extra={
                "address": config.target,
                "db": config.db_filename or MEMORY_DB,
                "namespaces": namespaces,
            },
        )

    # The server only closes through stop(). Never wait on a task around
    # server.wait_closed() here: cancelling it would cancel grpclib's own
    # "closed" future and break the stop() below.
    try:
        await stop_requested.wait()
    finally:
        await server.stop()
    log.info("stopped")


def _fail(message: str, exit_code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(exit_code)


def _early_signal(signum: int, _frame: object) -> None:
    # SIGTERM before the event loop's handlers are installed: treat like Ctrl-C.
    raise KeyboardInterrupt


# -- commands ------------------------------------------------------------------


def _validate_namespaces(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for name in value:
        name = name.strip()
        if not name:
            raise click.BadParameter("a namespace name cannot be empty")
        if name != "default" and name not in names:
            names.append(name)
    return names


def _validate_search_attributes(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> dict[str, str]:
    from temporallite.visibility.search_attributes import is_reserved, parse_type_name

    attributes: dict[str, str] = {}
    for item in value:
        name, sep, type_name = item.partition("=")
        name, type_name = name.strip(), type_name.strip()
        if not sep or not name or not type_name:
            raise click.BadParameter(f"expected NAME=TYPE, got {item!r}")
        if is_reserved(name):
            raise click.BadParameter(f"{name} is reserved by the system")
        try:
            parse_type_name(type_name)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        if attributes.get(name, type_name).lower() != type_name.lower():
            raise click.BadParameter(f"{name} is given twice with different types")
        attributes[name] = type_name
    return attributes


class OneLineErrors(click.Group):
    """A group whose usage errors are one line on stderr (exit 2), never a
    usage block or a traceback."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        from temporallite._fast_import import skip_sdk_package_init

        skip_sdk_package_init()  # before anything imports temporalio
        argv = list(sys.argv[1:] if args is None else args)
        if argv and argv[0].isdigit():
            # `temporallite 12345`: how the SDKs launch the Java test server.
            args = ["test-server", *argv]
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(f"{exc.format_message().rstrip('.')}{hint}", exc.exit_code)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=OneLineErrors,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", "-V", prog_name="temporallite")
@click.pass_context
def main(ctx: click.Context) -> None:
    """temporallite: a Temporal server in one process, backed by SQLite."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@main.command()
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=7233,
    show_default=True,
    help="gRPC port.",
)
@click.option("--ip", default="127.0.0.1", show_default=True, help="IP address to bind.")
@click.option(
    "--db-filename",
    type=click.Path(dir_okay=False),
    default=None,
    help="SQLite file to keep state in (created if missing). Default: in memory.",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    callback=_validate_namespaces,
    help="Namespace to create at start (repeatable). `default` always exists.",
)
@click.option(
    "--search-attribute",
    "search_attributes",
    multiple=True,
    metavar="NAME=TYPE",
    callback=_validate_search_attributes,
    help="Custom search attribute to register in every namespace before the server"
    " answers (repeatable). TYPE: Text, Keyword, Int, Double, Bool, Datetime, KeywordList.",
)
@click.option(
    "--log-level",
    type=click.Choice(list(LOG_LEVELS)),
    default="info",
    show_default=True,
)
@click.option(
    "--log-format",
    type=click.Choice(["pretty", "json"]),
    default="pretty",
    show_default=True,
)
def start(
    port: int,
    ip: str,
    db_filename: str | None,
    namespaces: list[str],
    search_attributes: dict[str, str],
    log_level: str,
    log_format: str,
) -> None:
    """Start a temporallite server."""
    from temporallite.config import ServerConfig

    if db_filename == MEMORY_DB or db_filename == "":
        db_filename = None
    config = ServerConfig(
        ip=ip,
        port=port,
        db_filename=db_filename,
        namespaces=namespaces,
        search_attributes=search_attributes,
        log_level=log_level,
        log_format=log_format,
    )
    _run(config)


def _run(config: ServerConfig) -> None:
    import asyncio

    signal.signal(signal.SIGTERM, _early_signal)
    configure_logging(config.log_level, config.log_format)
    try:
        asyncio.run(serve(config))
    except StartupError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass  # interrupted while starting: nothing was left running


@main.group()
def server() -> None:
    """Drop-in for `temporal server ...` (the form the SDKs' test helpers launch)."""


@server.command("start-dev")
@click.option("-p", "--port", type=click.IntRange(1, 65535), default=7233, show_default=True)
@click.option("--ip", default="127.0.0.1", show_default=True)
@click.option("-f", "--db-filename", type=click.Path(dir_okay=False), default=None)
@click.option("-n", "--namespace", "namespaces", multiple=True, callback=_validate_namespaces)
@click.option("--search-attribute", "search_attributes", multiple=True, metavar="NAME=TYPE",
              callback=_validate_search_attributes)
@click.option("--log-level", type=click.Choice([*LOG_LEVELS, "warning", "fatal", "never"]),
              default="warn", show_default=True)
@click.option("--log-format", type=click.Choice(["pretty", "text", "json"]), default="pretty")
# Accepted for compatibility with `temporal server start-dev`; temporallite has
# no web UI, metrics or HTTP endpoint, and keeps its own dynamic config.
@click.option("--dynamic-config-value", multiple=True, metavar="KEY=VALUE")
@click.option("--headless", is_flag=True)
@click.option("--http-port", type=int)
@click.option("--metrics-port", type=int)
@click.option("--log-config", is_flag=True)
@click.option("--sqlite-pragma", multiple=True)
@click.option("--ui-port", type=int)
@click.option("--ui-ip")
@click.option("--ui-asset-path")
@click.option("--ui-codec-endpoint")
@click.option("--ui-public-path")
@click.option("--ui-disable-news-fetch", is_flag=True)
def start_dev(
    port: int, ip: str, db_filename: str | None, namespaces: list[str],
    search_attributes: dict[str, str], log_level: str, log_format: str,
    dynamic_config_value: tuple[str, ...], **_ignored: object,
) -> None:
    """Start temporallite with the flags of `temporal server start-dev`."""
    from temporallite.config import ServerConfig

    level = {"warning": "warn", "fatal": "error", "never": "error"}.get(log_level, log_level)
    config = ServerConfig(
        ip="127.0.0.1" if ip == "localhost" else ip,
        port=port,
        db_filename=None if db_filename in (None, "", MEMORY_DB) else db_filename,
        namespaces=namespaces,
        search_attributes=search_attributes,
        log_level=level,
        log_format="json" if log_format == "json" else "pretty",
    )
    _apply_dynamic_config(config, dynamic_config_value)
    _run(config)


def _apply_dynamic_config(config: ServerConfig, values: tuple[str, ...]) -> None:
    """The dynamic config keys temporallite knows; others are accepted and ignored."""
    from temporallite.config import LIMIT_KEYS

    for item in values:
        key, sep, value = item.partition("=")
        value = value.strip().strip('"').lower()
        if not sep:
            _fail(f"invalid --dynamic-config-value {item!r}: expected KEY=VALUE")
        if key == "frontend.WorkflowTimeSkippingEnabled":
            if value not in ("true", "false"):
                _fail(f"invalid --dynamic-config-value {item!r}: expected true or false")
            config.workflow_time_skipping = value == "true"
        elif key == "system.enableActivityEagerExecution":
            if value not in ("true", "false"):
                _fail(f"invalid --dynamic-config-value {item!r}: expected true or false")
            config.activity_eager_execution = value == "true"
        elif key == "frontend.WorkflowTimeSkippingMaxSkipPerSession":
            if not value.isdigit():
                _fail(f"invalid --dynamic-config-value {item!r}: expected a number")
            config.max_skips_per_session = int(value)
        elif key in LIMIT_KEYS:
            try:
                number = int(value)
            except ValueError:
                _fail(f"invalid --dynamic-config-value {item!r}: expected a number")
            setattr(config.limits, LIMIT_KEYS[key], number)


@main.command("test-server", hidden=True)
@click.argument("port", type=click.IntRange(1, 65535))
@click.argument("extra", nargs=-1)
def test_server(port: int, extra: tuple[str, ...]) -> None:
    """Test-server mode (`temporallite PORT`): time skipping, starting locked."""
    from temporallite.config import ServerConfig

    _run(ServerConfig(port=port, log_level="warn", time_skipping=True))


if __name__ == "__main__":  # pragma: no cover
    main()
