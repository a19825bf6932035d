"""Whether this moment may keep what it builds: a reader's GET never writes to the database.

The sizes of a release's files are kept (written) by the code that builds them after a change and
by the task worker warming the site; a reader's request that downloads a file whose size is not
kept serves it and keeps nothing. A writer says so with `keeping()`; readers ask `may_keep()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_keeping: ContextVar[bool] = ContextVar("newsroom_keeping", default=False)


@contextmanager
def keeping() -> Iterator[None]:
    """Within this block, what is built is kept (the worker's warming, building a release's files)."""
    token = _keeping.set(True)
    try:
        yield
    finally:
        _keeping.reset(token)


def may_keep() -> bool:
    return _keeping.get()
