"""Run the same work in several threads at once, each on its own database connection."""

import threading

from django.db import connections


def run_at_once(func, *, times: int = 2, timeout: float = 60) -> list:
    """Start ``func()`` in ``times`` threads released together; return their results.

    A barrier lines the threads up so their transactions really overlap; each thread
    closes its connections so PostgreSQL sees separate sessions. Any exception in a
    thread fails the caller.
    """
    barrier = threading.Barrier(times)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(func())
        except Exception as exc:  # re-raised in the caller below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    assert len(results) == times, "a thread did not finish in time"
    return results
