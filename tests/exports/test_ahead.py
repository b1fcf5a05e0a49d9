"""built_ahead: an export reads its next chunk in a thread of its own while it writes the one before."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from pro_app.exports.ahead import built_ahead

WHO = contextvars.ContextVar("who", default="nobody")


def ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "pro-app-ahead"]


def test_every_item_comes_in_order_and_the_thread_ends():
    produced_in = set()

    def numbers():
        for n in range(50):
            produced_in.add(threading.current_thread().name)
            yield n

    assert list(built_ahead(numbers())) == list(range(50))
    assert produced_in == {"pro-app-ahead"}
    assert ahead_threads() == []


def test_the_next_item_is_produced_while_the_caller_works_on_this_one():
    started = []

    def numbers():
        for n in range(3):
            started.append(n)
            yield n

    items = built_ahead(numbers())
    assert next(items) == 0
    time.sleep(0.2)  # the caller works on item 0 ...
    assert started == [0, 1]  # ... while item 1 is produced, and no more: one chunk ahead, not two
    assert next(items) == 1
    time.sleep(0.2)
    assert started == [0, 1, 2]
    assert list(items) == [2]


def test_an_error_in_the_producer_is_raised_in_the_caller():
    def failing():
        yield 1
        raise LookupError("the database went away")

    items = built_ahead(failing())
    assert next(items) == 1
    with pytest.raises(LookupError, match="went away"):
        next(items)
    assert ahead_threads() == []


def test_a_caller_that_stops_early_stops_the_producer():
    produced = []
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                produced.append(n)
                yield n
                n += 1
        finally:
            closed.set()

    items = built_ahead(endless())
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()  # a download cancelled half-way
    assert closed.wait(5), "the producer was not closed"
    assert ahead_threads() == []
    assert len(produced) <= 6, "the producer went on after the caller stopped"


def test_the_producer_runs_in_the_callers_context():
    """So it uses the caller's app context and database session (the export's one read transaction)."""
    WHO.set("the export")

    def who():
        yield WHO.get()

    assert list(built_ahead(who())) == ["the export"]
