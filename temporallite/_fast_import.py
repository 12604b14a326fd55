"""Start-up speed for the server process.

`import temporalio.api.x` runs temporalio/__init__.py, which loads the SDK's
client side (temporalio.service and the bridge protos, ~40-60 ms) that a
server never uses. In the CLI process, before anything imports temporalio,
register a bare package module for it so only the API protobufs load.
Never used in-process (embedding, tests): there the SDK is already imported.

The API packages also import grpcio's generated stubs when grpcio happens to
be installed (~12 ms); the server never uses them, so in the CLI process the
`grpc` import is made to fail as if grpcio were absent. The same for `ssl`
(~5 ms, imported by asyncio only if present): the server speaks plain-text
gRPC on loopback or a LAN, as the real dev server does.
"""

from __future__ import annotations

import importlib.util
import sys
import types


def skip_sdk_package_init() -> None:
    if "temporalio" in sys.modules:
        return
    sys.modules.setdefault("grpc", None)  # type: ignore[arg-type]  # import grpc -> ImportError
    sys.modules.setdefault("ssl", None)  # type: ignore[arg-type]
    spec = importlib.util.find_spec("temporalio")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("temporalio")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules["temporalio"] = package
