"""Version stamps in the shared cache: how one process tells the others that
something they keep in memory (settings, which model serves) has changed."""

from django.core.cache import cache


def version_bump(key: str) -> None:
    if cache.add(key, 1, timeout=None) is False:
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=None)
