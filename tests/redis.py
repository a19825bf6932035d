"""The real Redis for tests that cache in it, with keys of this test process only.

Two runs on one machine (a developer's and CI's, or two suites at once) share one Redis: each
keeps its keys under its own prefix and clears only those, so neither reads the other's pages.
"""

import contextlib
import os

import pytest
from django.core.cache import caches
from django.test import override_settings


def settings_for(db: int, name: str) -> dict:
    """CACHES for Redis database `db`, keyed for this process."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:6379/{db}",
            "KEY_PREFIX": f"newsroom-{name}-{os.getpid()}",
        }
    }


def clear(cache) -> None:
    """Forget this process's keys, and no one else's (`clear()` would empty the whole database)."""
    cache.delete_pattern("*")


@contextlib.contextmanager
def redis_cache(db: int, name: str):
    """The default cache in Redis for the block, emptied of this process's keys before and after."""
    with override_settings(CACHES=settings_for(db, name)):
        cache = caches["default"]
        try:
            clear(cache)
        except Exception as error:
            pytest.fail(f"Redis is not reachable on 127.0.0.1:6379: {error}")
        yield cache
        clear(cache)
