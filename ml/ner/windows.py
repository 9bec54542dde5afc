"""Cutting long texts into windows a model can take, without cutting an entity.

A cut is placed at the latest good boundary inside the window: after a sentence
end, then after a comma, then after a space, and only as a last resort anywhere.
A cut position is never strictly inside a protected span (a gold entity when
training), so every entity lies whole in one window and offsets map back by
adding the window start.
"""

_STRONG = set("。！？；;!?\n\r")
_WEAK = set("，,、：:）)")
_SPACE = set(" \t\u3000")


def plan_windows(text: str, max_len: int, protected: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    if max_len < 1:
        raise ValueError("max_len must be positive")
    inside = set()
    for start, end in protected:
        inside.update(range(start + 1, end))  # cutting at position p splits [.., p) | [p, ..)
    windows, start, n = [], 0, len(text)
    while start < n:
        if n - start <= max_len:
            windows.append((start, n))
            break
        limit = start + max_len
        cut = _best_cut(text, start, limit, inside)
        windows.append((start, cut))
        start = cut
    return windows


def _best_cut(text: str, start: int, limit: int, inside: set[int]) -> int:
    floor = start + 1
    for kind in (_STRONG, _WEAK, _SPACE):
        for cut in range(limit, floor, -1):
            if text[cut - 1] in kind and cut not in inside:
                return cut
    for cut in range(limit, floor - 1, -1):
        if cut not in inside:
            return cut
    # an entity longer than a window: cut it rather than loop forever
    return limit
