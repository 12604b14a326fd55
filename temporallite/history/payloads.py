"""Payloads the server writes itself, encoded as the SDKs' json/plain."""

from __future__ import annotations

import json

from temporalio.api.common.v1 import Payload


def json_payload(value: object) -> Payload:
    return Payload(
        metadata={"encoding": b"json/plain"},
        data=json.dumps(value, separators=(",", ":")).encode(),
    )
