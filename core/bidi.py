"""The order a screen shows a line of text in: the Unicode Bidirectional Algorithm (UAX #9).

Masking reads a text as it is stored and, where right-to-left characters or controls are in it,
also as it is shown: an override (U+202E) shows digits reversed, a right-to-left mark before digit
groups shows the groups in the other order. Simplified, because masking reads both orders: the
paragraph is left to right (P2-P3 are not applied), the weak and neutral rules run on each level
run rather than on isolating run sequences, brackets are not paired (N0), and a tab does not
split a run (L1): a reader who reverses an override's run whole reads digits across it.
"""

from __future__ import annotations

from collections.abc import Sequence

# The classes that can show anything in another order than it is stored, in a left-to-right
# paragraph: without one of them every level is 0.
RIGHT_TO_LEFT = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI", "FSI"})
_MAX_DEPTH = 125
_OPENERS = {"LRE": "L", "RLE": "R", "LRO": "L", "RLO": "R", "LRI": "L", "RLI": "R"}
_REMOVED = frozenset({"LRE", "RLE", "LRO", "RLO", "PDF", "BN"})  # X9: no part of any run
_ISOLATES = frozenset({"LRI", "RLI", "FSI", "PDI"})
_NEUTRAL = frozenset({"B", "S", "WS", "ON"}) | _ISOLATES
_AS_STRONG = {"L": "L", "R": "R", "AL": "R", "EN": "R", "AN": "R"}  # N1: numbers count as R


def _first_strong(classes: Sequence[str], start: int) -> str:
    """P2 for an FSI: the first strong class up to its matching PDI ("L" if none)."""
    depth = 0
    for c in classes[start:]:
        if c in ("LRI", "RLI", "FSI"):
            depth += 1
        elif c == "PDI":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and c in ("L", "R", "AL"):
            return "L" if c == "L" else "R"
    return "L"


def _explicit(classes: Sequence[str]) -> tuple[list[int], list[str]]:
    """X1-X8: each character's embedding level, and its class once overrides apply."""
    stack: list[tuple[int, str | None, bool]] = [(0, None, False)]  # level, override, isolate
    levels, types = [], []
    for i, c in enumerate(classes):
        if c == "FSI":
            c = "RLI" if _first_strong(classes, i + 1) == "R" else "LRI"
        if c == "PDI" and any(isolate for *_, isolate in stack):
            while not stack.pop()[2]:
                pass
        elif c == "PDF" and len(stack) > 1 and not stack[-1][2]:
            stack.pop()
        elif c == "B":
            stack = [(0, None, False)]
        level, override, _ = stack[-1]
        levels.append(level)
        types.append(override if override and c not in _REMOVED else c)
        if c in _OPENERS:
            rtl = _OPENERS[c] == "R"
            new = min((level + 1) | 1 if rtl else (level + 2) & ~1, _MAX_DEPTH)
            stack.append((new, _OPENERS[c] if c.endswith("O") else None, c.endswith("I")))
    return levels, types


def _weak(t: list[str], sos: str) -> None:
    """W1-W7 on one level run."""
    for k, c in enumerate(t):
        if c == "NSM":
            t[k] = "ON" if k and t[k - 1] in _ISOLATES else (t[k - 1] if k else sos)
    strong = sos
    for k, c in enumerate(t):
        if c in ("L", "R", "AL"):
            strong = c
        elif c == "EN" and strong == "AL":
            t[k] = "AN"
    t[:] = ["R" if c == "AL" else c for c in t]
    for k in range(1, len(t) - 1):
        if t[k] == "ES" and t[k - 1] == t[k + 1] == "EN":
            t[k] = "EN"
        elif t[k] == "CS" and t[k - 1] == t[k + 1] and t[k - 1] in ("EN", "AN"):
            t[k] = t[k - 1]
    for k in range(len(t)):
        if t[k] == "ET" and ((k and t[k - 1] == "EN") or _en_follows(t, k)):
            t[k] = "EN"
    t[:] = ["ON" if c in ("ES", "ET", "CS") else c for c in t]
    strong = sos
    for k, c in enumerate(t):
        if c in ("L", "R"):
            strong = c
        elif c == "EN" and strong == "L":
            t[k] = "L"


def _en_follows(t: list[str], k: int) -> bool:
    """W5: whether a run of ETs from k ends at an EN."""
    while k < len(t) and t[k] == "ET":
        k += 1
    return k < len(t) and t[k] == "EN"


def _neutral(t: list[str], sos: str, eos: str, embedding: str) -> None:
    """N1-N2 on one level run: neutrals between two of one direction take it, others the
    embedding's."""
    k = 0
    while k < len(t):
        if t[k] not in _NEUTRAL:
            k += 1
            continue
        end = k
        while end < len(t) and t[end] in _NEUTRAL:
            end += 1
        before = _AS_STRONG.get(t[k - 1], embedding) if k else sos
        after = _AS_STRONG.get(t[end], embedding) if end < len(t) else eos
        t[k:end] = [before if before == after else embedding] * (end - k)
        k = end


def levels(classes: Sequence[str]) -> list[int]:
    """Each character's resolved level in a left-to-right paragraph (X1-X9, W, N, I1-I2, L1)."""
    explicit, types = _explicit(classes)
    kept = [k for k, c in enumerate(classes) if c not in _REMOVED]
    runs: list[list[int]] = []
    for k in kept:
        if runs and explicit[runs[-1][-1]] == explicit[k]:
            runs[-1].append(k)
        else:
            runs.append([k])
    out = list(explicit)
    for r, run in enumerate(runs):
        level = explicit[run[0]]
        before = explicit[runs[r - 1][0]] if r else 0
        after = explicit[runs[r + 1][0]] if r + 1 < len(runs) else 0
        sos, eos = ("R" if max(level, side) % 2 else "L" for side in (before, after))
        t = [types[k] for k in run]
        _weak(t, sos)
        _neutral(t, sos, eos, "R" if level % 2 else "L")
        for k, c in zip(run, t, strict=True):
            if level % 2 == 0:
                out[k] = level + {"R": 1, "AN": 2, "EN": 2}.get(c, 0)
            else:
                out[k] = level + (c in ("L", "EN", "AN"))
    previous = 0
    for k, c in enumerate(classes):
        # A removed control takes the level of what it follows, so it splits no run (X9).
        out[k] = previous if c in _REMOVED else out[k]
        previous = out[k]
    return _line_ends(classes, out)


def _line_ends(classes: Sequence[str], out: list[int]) -> list[int]:
    """L1: paragraph separators, and blanks before them or at the end, at the paragraph's level."""
    trailing = True
    for k in range(len(classes) - 1, -1, -1):
        c = classes[k]
        if c == "B":
            out[k], trailing = 0, True
        elif trailing and (c == "WS" or c in _ISOLATES or c in _REMOVED):
            out[k] = 0
        else:
            trailing = False
    return out


def display_order(classes: Sequence[str]) -> list[int]:
    """The indices of the characters in the order a screen shows them (L2)."""
    lv = levels(classes)
    order = list(range(len(lv)))
    if not lv:
        return order
    lowest_odd = min(lv) | 1
    for level in range(max(lv), lowest_odd - 1, -1):
        k = 0
        while k < len(lv):
            if lv[k] < level:
                k += 1
                continue
            end = k
            while end < len(lv) and lv[end] >= level:
                end += 1
            order[k:end], lv[k:end] = order[k:end][::-1], lv[k:end][::-1]
            k = end
    return order
