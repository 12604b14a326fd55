"""Custom search attributes the bad-input tests register for themselves."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client


async def register_keyword_and_int(client: Client, keyword: str, integer: str) -> Client:
    """Add a Keyword and an Int attribute to the client's namespace (idempotent)."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
                integer: IndexedValueType.INDEXED_VALUE_TYPE_INT,
            },
        )
    )
    return client
