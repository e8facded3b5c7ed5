from functools import cache

from .scheduling import last_tick_age, scheduler_is_late


def scheduler_health(request):
    """Tell staff when the scheduler has stopped: reminders would silently not arrive.

    Lazy and computed once per page: only staff pages that show the banner query.
    """
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return {}

    @cache
    def _late():
        return scheduler_is_late()

    @cache
    def _age():
        age = last_tick_age()
        return None if age is None else int(age.total_seconds() // 60)

    return {"scheduler_late": _late, "scheduler_age_minutes": _age}
