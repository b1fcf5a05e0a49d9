"""Running a generator one item ahead, in a thread of its own, so that its work overlaps the caller's."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def built_ahead(items: Generator[T, None, None]) -> Iterator[T]:
    """The generator's items, each produced in a thread of its own while the caller works on the one before.

    Work that releases the GIL (a database query, pyarrow) then overlaps the caller's: on two cores an
    export reads the next chunk while it writes this one. The thread makes an item only when the caller
    has taken the one before, so at most one item waits beyond the one the caller holds (a chunk of the
    items data set is a few hundred megabytes). The thread runs in a copy of the caller's context, so it
    sees the caller's app context and database session: the caller must not use that session until the
    items are done. An error in the thread is raised in the caller; a caller that stops early (a closed
    download) stops the thread, which ends after the item it is on.
    """
    handoff: queue.Queue = queue.Queue(maxsize=1)
    taken = threading.Event()
    stop = threading.Event()

    def hand_over(item) -> bool:
        """Put the item in the hand-off, then wait until the caller takes it (False: the caller stopped)."""
        handoff.put(item)  # never blocks: the item before has been taken
        while not taken.wait(timeout=0.05):
            if stop.is_set():
                return False
        taken.clear()
        return True

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(item):
                    return
            hand_over(_END)
        except BaseException as error:  # raised again in the caller's thread
            hand_over(_Failed(error))
        finally:
            items.close()

    worker = threading.Thread(target=contextvars.copy_context().run, args=(produce,), name="pro-app-ahead",
                              daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not _END:
            taken.set()
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
