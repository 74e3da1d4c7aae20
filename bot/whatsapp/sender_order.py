"""A WhatsApp returnee's messages taken in the order they arrived, within a process."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SenderLocks:
    """One message at a time per sender (their pseudonym), in this process, in the order
    they arrived (asyncio's locks are fair).

    Only message order needs this: a returnee who types "2" then "3" means the first for
    the question on screen. Correctness needs no lock (a survey step is stored only if the
    survey is still where it was read, :meth:`storage.store.Store.save_step`), so nothing
    is shared between workers: a worker that dies holds nothing that delays the next
    message, and no message costs a Redis round trip for a lock."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, sender: str) -> AsyncIterator[None]:
        lock = self._locks.get(sender)
        if lock is None:
            lock = self._locks[sender] = asyncio.Lock()
        async with lock:
            yield
