"""The BuildIds search attribute the server keeps for each run.

When an unversioned worker completes a workflow task, the real server sets
BuildIds to ["unversioned", "unversioned:<build id>"] (the latest build id
only; ["unversioned"] without one) and updates the visibility record, so List shows it
and `BuildIds = 'unversioned'` finds the run.
"""

from __future__ import annotations

import json

from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedRequest

from temporallite.history.transaction import Transaction

BUILD_IDS = "BuildIds"
UNVERSIONED = "unversioned"


def _escape(build_id: str) -> str:
    return build_id.replace("|", "||").replace(":", "|:")


def build_ids_value(build_id: str) -> list[str]:
    return [UNVERSIONED, f"{UNVERSIONED}:{_escape(build_id)}"] if build_id else [UNVERSIONED]


def on_workflow_task_completed(tx: Transaction, request: RespondWorkflowTaskCompletedRequest) -> None:
    """Record the completing worker's build id (unversioned workers only; a
    completion without a version stamp counts as an unversioned worker
    without build id, as on the real server)."""
    stamp = request.worker_version_stamp
    if stamp.use_versioning:
        return  # worker versioning is not supported: leave BuildIds alone
    value = json.dumps(build_ids_value(stamp.build_id), separators=(",", ":")).encode()
    current = SearchAttributes.FromString(tx.ms.search_attributes)
    existing = current.indexed_fields.get(BUILD_IDS)
    if existing is not None and existing.data == value:
        return
    current.indexed_fields[BUILD_IDS].CopyFrom(
        Payload(metadata={"encoding": b"json/plain", "type": b"KeywordList"}, data=value)
    )
    tx.ms.search_attributes = current.SerializeToString()
    tx.visibility_changed = True
