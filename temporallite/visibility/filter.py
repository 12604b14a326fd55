"""A converted List/Count filter. Kept apart from the query language so the
server can start without loading the parser (it loads on the first query)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from temporallite.visibility.search_attributes import Attribute

NAMESPACE_DIVISION = "TemporalNamespaceDivision"


@dataclass
class Filter:
    """A WHERE fragment with its parameters (to AND with the namespace
    condition) and the GROUP BY attribute, if any."""

    where: str
    params: list[Any]
    group_by: Attribute | None = None
    order_by: bool = False
