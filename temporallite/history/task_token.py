"""Task tokens: opaque to workers, they name the task a worker answers."""

from __future__ import annotations

import json
from dataclasses import dataclass

from temporallite.errors import BAD_TASK_TOKEN, InvalidArgument


@dataclass(frozen=True)
class TaskToken:
    namespace_id: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    activity_id: str = ""
    query_id: str = ""

    def encode(self) -> bytes:
        # vars(), not dataclasses.asdict(): every task handed out is encoded.
        return json.dumps(vars(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> TaskToken:
        if not raw:
            raise InvalidArgument("Task token not set on request.")
        try:
            fields = json.loads(raw)
            token = cls(**fields)
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(BAD_TASK_TOKEN) from exc
        if not isinstance(token.scheduled_event_id, int) or not token.run_id:
            raise InvalidArgument(BAD_TASK_TOKEN)
        return token
