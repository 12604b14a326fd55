"""Visibility RPCs of WorkflowService (List/Count/Scan workflow executions,
search attributes). Mixed into WorkflowService."""

from __future__ import annotations


class VisibilityApi:
    """Nothing implemented yet: the RPCs answer UNIMPLEMENTED."""
