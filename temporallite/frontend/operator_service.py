"""OperatorService. Nothing is implemented yet: every RPC answers
UNIMPLEMENTED with its name (search attributes arrive with visibility)."""

from __future__ import annotations

from temporallite.namespaces import NamespaceRegistry


class OperatorService:
    def __init__(self, namespaces: NamespaceRegistry) -> None:
        self.namespaces = namespaces
