"""OperatorService: custom search attributes per namespace (Add, Remove,
List), with the real server's SQL-visibility rules and messages. Other RPCs
answer UNIMPLEMENTED with their name."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import request_response_pb2 as osv

from temporallite.errors import InvalidArgument
from temporallite.namespaces import Namespace, NamespaceRegistry
from temporallite.visibility import search_attributes as sa

NOT_SET = "SearchAttributes are not set on request."
NAMESPACE_NOT_SET = "Namespace is not set on request."


class OperatorService:
    def __init__(self, namespaces: NamespaceRegistry) -> None:
        self.namespaces = namespaces

    def _namespace_if_named(self, name: str) -> Namespace | None:
        """An unknown namespace is refused before anything else (NotFound);
        an empty one only once the request itself is checked."""
        return self.namespaces.get(name) if name else None

    async def add_search_attributes(
        self, request: osv.AddSearchAttributesRequest
    ) -> osv.AddSearchAttributesResponse:
        ns = self._namespace_if_named(request.namespace)
        requested = dict(request.search_attributes)
        if not requested:
            raise InvalidArgument(NOT_SET)
        try:
            sa.validate_new_aliases(requested)  # type: ignore[arg-type]
            if ns is None:
                raise InvalidArgument(NAMESPACE_NOT_SET)
            await self.namespaces.add_search_attributes(ns, requested)  # type: ignore[arg-type]
        except sa.SearchAttributeError as exc:
            raise InvalidArgument(str(exc)) from None
        return osv.AddSearchAttributesResponse()

    async def remove_search_attributes(
        self, request: osv.RemoveSearchAttributesRequest
    ) -> osv.RemoveSearchAttributesResponse:
        ns = self._namespace_if_named(request.namespace)
        if not request.search_attributes:
            raise InvalidArgument(NOT_SET)
        if ns is None:
            raise InvalidArgument(NAMESPACE_NOT_SET)
        try:
            await self.namespaces.remove_search_attributes(ns, list(request.search_attributes))
        except sa.SearchAttributeError as exc:
            raise InvalidArgument(str(exc)) from None
        return osv.RemoveSearchAttributesResponse()

    async def list_search_attributes(
        self, request: osv.ListSearchAttributesRequest
    ) -> osv.ListSearchAttributesResponse:
        ns = self._namespace_if_named(request.namespace)
        if ns is None:
            raise InvalidArgument(NAMESPACE_NOT_SET)
        attributes = sa.for_namespace(ns.id)
        return osv.ListSearchAttributesResponse(
            custom_attributes=attributes.custom(),  # type: ignore[arg-type]
            system_attributes=sa.system_and_predefined(),  # type: ignore[arg-type]
        )
