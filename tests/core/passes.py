"""Stand-in scheduler passes for the tests (named in SCHEDULED_PASSES by path)."""

calls: list[tuple[str, object]] = []


def three(*, now):
    calls.append(("three", now))
    return 3


def broken(*, now):
    calls.append(("broken", now))
    raise RuntimeError("the reminder table is on fire")


def two(*, now):
    calls.append(("two", now))
    return 2
