"""`python -m bench.grpcio_server start --port P [...]`: the `temporallite`
command with its gRPC transport swapped for the grpcio prototype
(`bench.grpcio_transport`). Bench-only: the package's transport stays grpclib.

The swap is done in `sys.modules` before the server module is imported, so
the process never imports grpclib's server, h2 or grpclib's health service:
its start-up time and memory are grpcio's own.
"""

from __future__ import annotations

import sys
import types

from temporallite._fast_import import skip_sdk_package_init


def install() -> None:
    """Make `temporallite.server` build its transport from bench.grpcio_transport."""
    skip_sdk_package_init()  # as the CLI does, before anything imports temporalio
    from bench import grpcio_transport

    sys.modules["temporallite.frontend.transport"] = grpcio_transport
    health = types.ModuleType("grpclib.health.service")
    health.Health = grpcio_transport.Health  # type: ignore[attr-defined]
    sys.modules["grpclib.health.service"] = health


def main(argv: list[str]) -> None:
    install()
    from temporallite.cli import main as cli_main

    cli_main(args=argv, prog_name="python -m bench.grpcio_server")


if __name__ == "__main__":
    main(sys.argv[1:])
