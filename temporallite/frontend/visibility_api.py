"""Visibility RPCs of WorkflowService (List/Count/Scan workflow executions,
the deprecated ListOpen/ListClosed, GetSearchAttributes). Mixed into
WorkflowService, which provides `namespaces` and `engine`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.filter.v1 import StartTimeFilter
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv

from temporallite.errors import InvalidArgument
from temporallite.frontend.masking import masked
from temporallite.visibility import search_attributes as sa
from temporallite.visibility import store as visibility
from temporallite.visibility.filter import NAMESPACE_DIVISION, Filter
from temporallite.visibility.page_token import BadPageToken

if TYPE_CHECKING:
    from temporallite.history.engine import HistoryEngine
    from temporallite.namespaces import Namespace, NamespaceRegistry

RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


class VisibilityApi:
    namespaces: NamespaceRegistry
    engine: HistoryEngine

    # ---- queries ------------------------------------------------------------

    def _filter(self, ns: Namespace, query: str) -> Filter:
        # The query language loads on first use: start-up does not pay for it.
        from temporallite.visibility.query import QueryError, convert

        try:
            return convert(query, sa.for_namespace(ns.id))
        except QueryError as exc:
            raise InvalidArgument(f"invalid query: {exc}") from None

    async def _page(
        self, ns: Namespace, flt: Filter, size: int, token: bytes
    ) -> tuple[list[bytes], bytes]:
        try:
            return await visibility.list_executions(
                self.engine.store, ns.id, flt, visibility.page_size(size), token
            )
        except BadPageToken as exc:
            # A plain Go error on the real server, masked by its frontend.
            raise masked(str(exc)) from None

    async def list_workflow_executions(
        self, request: wsv.ListWorkflowExecutionsRequest
    ) -> wsv.ListWorkflowExecutionsResponse:
        ns = self.namespaces.get(request.namespace)
        flt = self._filter(ns, request.query)
        infos, token = await self._page(ns, flt, request.page_size, request.next_page_token)
        response = wsv.ListWorkflowExecutionsResponse(next_page_token=token)
        for blob in infos:
            response.executions.add().MergeFromString(blob)
        return response

    async def scan_workflow_executions(
        self, request: wsv.ScanWorkflowExecutionsRequest
    ) -> wsv.ScanWorkflowExecutionsResponse:
        ns = self.namespaces.get(request.namespace)
        flt = self._filter(ns, request.query)
        infos, token = await self._page(ns, flt, request.page_size, request.next_page_token)
        response = wsv.ScanWorkflowExecutionsResponse(next_page_token=token)
        for blob in infos:
            response.executions.add().MergeFromString(blob)
        return response

    async def count_workflow_executions(
        self, request: wsv.CountWorkflowExecutionsRequest
    ) -> wsv.CountWorkflowExecutionsResponse:
        ns = self.namespaces.get(request.namespace)
        flt = self._filter(ns, request.query)
        count, groups = await visibility.count_executions(self.engine.store, ns.id, flt)
        response = wsv.CountWorkflowExecutionsResponse(count=count)
        if flt.group_by is not None:
            for value, group_count in groups:
                group = response.groups.add(count=group_count)
                group.group_values.append(_group_value(flt.group_by.field, value))
        return response

    # ---- the deprecated filtered lists -------------------------------------

    async def list_open_workflow_executions(
        self, request: wsv.ListOpenWorkflowExecutionsRequest
    ) -> wsv.ListOpenWorkflowExecutionsResponse:
        ns = self.namespaces.get(request.namespace)
        conditions, params = ["status = ?"], [RUNNING]
        if request.HasField("start_time_filter"):
            _time_range("start_time", request.start_time_filter, conditions, params)
        _legacy_filters(request, conditions, params)
        flt = Filter(" AND ".join(conditions), params)
        infos, token = await self._page(
            ns, flt, request.maximum_page_size, request.next_page_token
        )
        response = wsv.ListOpenWorkflowExecutionsResponse(next_page_token=token)
        for blob in infos:
            response.executions.add().MergeFromString(blob)
        return response

    async def list_closed_workflow_executions(
        self, request: wsv.ListClosedWorkflowExecutionsRequest
    ) -> wsv.ListClosedWorkflowExecutionsResponse:
        ns = self.namespaces.get(request.namespace)
        conditions, params = ["status != ?"], [RUNNING]
        if request.HasField("start_time_filter"):
            _time_range("close_time", request.start_time_filter, conditions, params)
        if request.HasField("status_filter"):
            if request.status_filter.status == RUNNING:
                raise InvalidArgument("StatusFilter must be specified and must be not Running.")
            conditions.append("status = ?")
            params.append(request.status_filter.status)
        _legacy_filters(request, conditions, params)
        flt = Filter(" AND ".join(conditions), params)
        infos, token = await self._page(
            ns, flt, request.maximum_page_size, request.next_page_token
        )
        response = wsv.ListClosedWorkflowExecutionsResponse(next_page_token=token)
        for blob in infos:
            response.executions.add().MergeFromString(blob)
        return response

    # ---- search attributes -------------------------------------------------

    async def get_search_attributes(
        self, request: wsv.GetSearchAttributesRequest
    ) -> wsv.GetSearchAttributesResponse:
        """Every field of the cluster: system, predefined and the pre-allocated
        custom fields (not a namespace's aliases), as the real server answers."""
        return wsv.GetSearchAttributesResponse(keys=sa.all_field_types())  # type: ignore[arg-type]


def _group_value(field: str, value: Any) -> Payload:
    if field == "ExecutionStatus":
        text = sa.STATUS_NAMES.get(value, str(value))
    else:
        text = "" if value is None else str(value)
    return Payload(
        metadata={"encoding": b"json/plain", "type": sa.TYPE_NAMES[sa.KEYWORD].encode()},
        data=json.dumps(text).encode(),
    )


def _time_range(
    column: str, time_filter: StartTimeFilter, conditions: list[str], params: list[Any]
) -> None:
    earliest = time_filter.earliest_time.ToNanoseconds() if time_filter.HasField(
        "earliest_time") else None
    latest = time_filter.latest_time.ToNanoseconds() if time_filter.HasField(
        "latest_time") else None
    if earliest is not None and latest is not None and earliest > latest:
        raise InvalidArgument("EarliestTime in StartTimeFilter should not be larger than LatestTime.")
    if earliest is not None:
        conditions.append(f"{column} >= ?")
        params.append(earliest)
    if latest is not None:
        conditions.append(f"{column} <= ?")
        params.append(latest)


def _legacy_filters(request: Any, conditions: list[str], params: list[Any]) -> None:
    which = request.WhichOneof("filters")
    if which == "execution_filter":
        conditions.append("workflow_id = ?")
        params.append(request.execution_filter.workflow_id)
        if request.execution_filter.run_id:
            conditions.append("run_id = ?")
            params.append(request.execution_filter.run_id)
    elif which == "type_filter":
        conditions.append("workflow_type = ?")
        params.append(request.type_filter.name)
    conditions.append(f"{NAMESPACE_DIVISION} IS NULL")
