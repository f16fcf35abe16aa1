"""One leader among instances (the sweeper): a PostgreSQL advisory lock, or a coordinator lease.

On PostgreSQL the leader holds a session advisory lock on a connection of its own, so
leadership depends only on the database the work needs anyway: Redis going away stops nothing.
The lock goes with the connection: if the database drops it, the next `lead` notices and
competes again. Elsewhere (SQLite: one instance) a lease through the coordinator serves.
"""

from __future__ import annotations

import abc
import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.coordination.base import Coordinator, Lease

log = logging.getLogger("huiyin.leader")


class Leader(abc.ABC):
    """Leadership of one named role."""

    @abc.abstractmethod
    async def lead(self) -> bool:
        """Take or keep the role; False while another instance holds it."""

    @abc.abstractmethod
    async def resign(self) -> None:
        """Give the role up so another instance can take it at once."""


class LeaseLeader(Leader):
    """Leadership through a renewable coordinator lease (Redis, or in-process)."""

    def __init__(self, coordinator: Coordinator, name: str, ttl: float = 90.0) -> None:
        self.coordinator = coordinator
        self.name = name
        self.ttl = ttl
        self.lease: Lease | None = None

    async def lead(self) -> bool:
        """Renew the lease, or try to take it."""
        if self.lease is not None and not await self.coordinator.renew(self.lease, self.ttl):
            log.warning("%s lease lost; another instance may lead now", self.name)
            self.lease = None
        if self.lease is None:
            self.lease = await self.coordinator.acquire(self.name, self.ttl)
        return self.lease is not None

    async def resign(self) -> None:
        """Release the lease."""
        if self.lease is not None:
            await self.coordinator.release(self.lease)
            self.lease = None


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a role name."""
    digest = hashlib.blake2b(f"huiyin:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLeader(Leader):
    """Leadership through a PostgreSQL session advisory lock held on a dedicated connection."""

    def __init__(self, engine: AsyncEngine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.key = lock_key(name)
        self._conn: AsyncConnection | None = None

    async def lead(self) -> bool:
        """Check the held lock's connection is alive, or try to take the lock."""
        if self._conn is not None:
            try:
                await self._conn.execute(text("select 1"))
                return True
            except Exception as exc:
                log.warning("%s: lost the database connection holding the lock (%s)",
                            self.name, exc)
                await self._drop()
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            taken = (
                await conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": self.key})
            ).scalar_one()
        except BaseException:
            await conn.close()
            raise
        if not taken:
            await conn.close()
            return False
        self._conn = conn
        log.info("%s: this instance leads (PostgreSQL advisory lock)", self.name)
        return True

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            except Exception:
                log.debug("closing a dead lock connection failed", exc_info=True)

    async def resign(self) -> None:
        """Unlock and return the connection."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(text("select pg_advisory_unlock(:k)"), {"k": self.key})
            await conn.close()
        except Exception:
            await conn.invalidate()


def make_leader(engine: AsyncEngine, coordinator: Coordinator, name: str) -> Leader:
    """An advisory-lock leader on PostgreSQL, a coordinator lease elsewhere."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLeader(engine, name)
    return LeaseLeader(coordinator, name)
