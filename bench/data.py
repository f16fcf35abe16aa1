"""What the benches use and own: the shared data set, and Redis keys of their own."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("HUIYIN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def data_dir() -> Path:
    """`HUIYIN_DATA_DIR`, else the nearest `shared/data` found walking up from the repository's
    parent (a checkout beside `shared/`, or a worktree a level deeper)."""
    given = os.environ.get("HUIYIN_DATA_DIR")
    if given:
        return Path(given)
    for parent in (REPO.parent, *REPO.parent.parents):
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data"


@contextlib.asynccontextmanager
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this run's own, its keys deleted afterwards."""
    import redis.asyncio as aioredis

    prefix = f"huiyin-bench-{uuid.uuid4().hex[:8]}:"
    previous = os.environ.get("HUIYIN_REDIS_PREFIX")
    os.environ["HUIYIN_REDIS_PREFIX"] = prefix  # LocalStack's settings read the environment
    try:
        yield prefix
    finally:
        if previous is None:
            os.environ.pop("HUIYIN_REDIS_PREFIX", None)
        else:
            os.environ["HUIYIN_REDIS_PREFIX"] = previous
        client = aioredis.from_url(REDIS_URL)
        try:
            keys = [k async for k in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()
