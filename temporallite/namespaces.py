"""Namespace registry: cached in memory, persisted in the store."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field, replace

from temporallite.errors import InvalidArgument, NamespaceAlreadyExists, NamespaceNotFound
from temporallite.persistence.store import Store, WriteBatch
from temporallite.visibility import search_attributes

DEFAULT_NAMESPACE = "default"
DEFAULT_RETENTION = 24 * 3600.0
# The real server's internal namespace, with its fixed id.
SYSTEM_NAMESPACE_ID = "32049b68-7872-4094-8e63-d0dd59896a83"
SYSTEM_NAMESPACE = "temporal-system"


@dataclass
class Namespace:
    id: str
    name: str
    description: str = ""
    owner_email: str = ""
    retention: float = DEFAULT_RETENTION
    data: dict[str, str] = field(default_factory=dict)
    state: int = 1  # NAMESPACE_STATE_REGISTERED
    # Custom search attributes: pre-allocated field → alias (visibility/search_attributes.py).
    search_attribute_aliases: dict[str, str] = field(default_factory=dict)


def new_namespace_id() -> str:
    """A time-ordered (version 7) UUID, like the real server's namespace ids."""
    millis = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 64) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class NamespaceRegistry:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._by_name: dict[str, Namespace] = {}
        self._by_id: dict[str, Namespace] = {}

    async def load(self, ensure: list[str]) -> None:
        for row in await self._store.fetch_all("SELECT info FROM namespaces"):
            self._remember(Namespace(**json.loads(row[0])))
        if SYSTEM_NAMESPACE not in self._by_name:
            await self.register(
                Namespace(
                    id=SYSTEM_NAMESPACE_ID,
                    name=SYSTEM_NAMESPACE,
                    description="Temporal internal system namespace",
                    owner_email="temporal-core@temporal.io",
                    retention=7 * 24 * 3600.0,
                )
            )
        for name in [DEFAULT_NAMESPACE, *ensure]:
            if name not in self._by_name:
                await self.register(Namespace(id=new_namespace_id(), name=name))

    def _remember(self, ns: Namespace) -> None:
        self._by_name[ns.name] = ns
        self._by_id[ns.id] = ns
        search_attributes.publish(ns.id, ns.name, ns.search_attribute_aliases)

    async def add_search_attributes(self, ns: Namespace, requested: dict[str, int]) -> None:
        """Map new custom attributes (alias → type) onto free fields; existing
        aliases are kept as they are. SearchAttributeError when a type is full."""
        aliases = search_attributes.add_aliases(ns.search_attribute_aliases, requested)
        if aliases != ns.search_attribute_aliases:
            await self.update(replace(ns, search_attribute_aliases=aliases))

    async def remove_search_attributes(self, ns: Namespace, names: list[str]) -> None:
        aliases = search_attributes.remove_aliases(ns.search_attribute_aliases, names)
        if aliases != ns.search_attribute_aliases:
            await self.update(replace(ns, search_attribute_aliases=aliases))

    def get(self, name: str) -> Namespace:
        if not name:
            raise InvalidArgument("Namespace is empty.")
        ns = self._by_name.get(name)
        if ns is None:
            raise NamespaceNotFound(name)
        return ns

    def by_id(self, namespace_id: str) -> Namespace | None:
        return self._by_id.get(namespace_id)

    def all(self) -> list[Namespace]:
        """Ordered by id, as the real server lists them."""
        return sorted(self._by_name.values(), key=lambda n: n.id)

    async def register(self, ns: Namespace) -> None:
        if ns.name in self._by_name:
            raise NamespaceAlreadyExists(ns.name)
        await self._save(ns, "INSERT INTO namespaces (id, name, info) VALUES (?, ?, ?)")
        self._remember(ns)

    async def update(self, ns: Namespace) -> None:
        await self._save(ns, "UPDATE namespaces SET id = ?, name = ?, info = ? WHERE id = ?")
        self._remember(ns)

    async def _save(self, ns: Namespace, sql: str) -> None:
        batch = WriteBatch()
        params: list[object] = [ns.id, ns.name, json.dumps(asdict(ns))]
        if sql.startswith("UPDATE"):
            params.append(ns.id)
        batch.add(sql, *params)
        await self._store.commit(batch)
