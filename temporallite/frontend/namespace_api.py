"""Namespace RPCs of WorkflowService."""

from __future__ import annotations

from temporalio.api.enums.v1 import ArchivalState
from temporalio.api.namespace.v1 import NamespaceConfig, NamespaceInfo
from temporalio.api.replication.v1 import ClusterReplicationConfig, NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import request_response_pb2 as wsv

from temporallite.clock import duration_seconds, to_duration
from temporallite.errors import InvalidArgument, NamespaceNotFound
from temporallite.frontend.validation import BLOB_SIZE_LIMIT
from temporallite.namespaces import (
    DEFAULT_RETENTION,
    Namespace,
    NamespaceRegistry,
    new_namespace_id,
)

CLUSTER_NAME = "active"
NOT_SET = "Namespace not set on request."


class NamespaceApi:
    def __init__(self, namespaces: NamespaceRegistry) -> None:
        self.namespaces = namespaces

    async def register_namespace(
        self, request: wsv.RegisterNamespaceRequest
    ) -> wsv.RegisterNamespaceResponse:
        if not request.namespace:
            raise InvalidArgument(NOT_SET)
        if not request.HasField("workflow_execution_retention_period"):
            raise InvalidArgument("A valid retention period is not set on request.")
        retention = duration_seconds(request.workflow_execution_retention_period)
        ns = Namespace(
            id=new_namespace_id(),
            name=request.namespace,
            description=request.description,
            owner_email=request.owner_email,
            retention=retention or DEFAULT_RETENTION,
            data=dict(request.data),
        )
        await self.namespaces.register(ns)
        return wsv.RegisterNamespaceResponse()

    def _find(self, name: str, namespace_id: str) -> Namespace:
        if namespace_id:
            found = self.namespaces.by_id(namespace_id)
            if found is None:
                raise NamespaceNotFound(namespace_id)
            return found
        if not name:
            raise InvalidArgument(NOT_SET)
        return self.namespaces.get(name)

    async def describe_namespace(
        self, request: wsv.DescribeNamespaceRequest
    ) -> wsv.DescribeNamespaceResponse:
        ns = self._find(request.namespace, request.id)
        return describe(ns)

    async def list_namespaces(
        self, request: wsv.ListNamespacesRequest
    ) -> wsv.ListNamespacesResponse:
        return wsv.ListNamespacesResponse(namespaces=[describe(ns) for ns in self.namespaces.all()])

    async def update_namespace(
        self, request: wsv.UpdateNamespaceRequest
    ) -> wsv.UpdateNamespaceResponse:
        ns = self._find(request.namespace, "")
        if request.HasField("update_info"):
            info = request.update_info
            if info.description:
                ns.description = info.description
            if info.owner_email:
                ns.owner_email = info.owner_email
            ns.data.update(dict(info.data))
        if request.HasField("config") and request.config.HasField(
            "workflow_execution_retention_ttl"
        ):
            ns.retention = duration_seconds(request.config.workflow_execution_retention_ttl)
        await self.namespaces.update(ns)
        described = describe(ns)
        return wsv.UpdateNamespaceResponse(
            namespace_info=described.namespace_info,
            config=described.config,
            replication_config=described.replication_config,
            is_global_namespace=False,
        )


def describe(ns: Namespace) -> wsv.DescribeNamespaceResponse:
    response = wsv.DescribeNamespaceResponse(
        namespace_info=NamespaceInfo(
            name=ns.name,
            state=ns.state,  # type: ignore[arg-type]
            description=ns.description,
            owner_email=ns.owner_email,
            data=ns.data,
            id=ns.id,
        ),
        config=NamespaceConfig(
            workflow_execution_retention_ttl=to_duration(ns.retention),
            history_archival_state=ArchivalState.ARCHIVAL_STATE_DISABLED,
            visibility_archival_state=ArchivalState.ARCHIVAL_STATE_DISABLED,
            custom_search_attribute_aliases=ns.search_attribute_aliases,
        ),
        replication_config=NamespaceReplicationConfig(
            active_cluster_name=CLUSTER_NAME,
            clusters=[ClusterReplicationConfig(cluster_name=CLUSTER_NAME)],
        ),
        is_global_namespace=False,
    )
    limits = response.namespace_info.limits
    limits.blob_size_limit_error = BLOB_SIZE_LIMIT
    limits.memo_size_limit_error = BLOB_SIZE_LIMIT
    # Only what temporallite implements.
    capabilities = response.namespace_info.capabilities
    capabilities.eager_workflow_start = True
    capabilities.sync_update = True
    capabilities.async_update = True
    response.config.bad_binaries.SetInParent()
    return response
