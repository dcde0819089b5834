"""The Pike VM: submatch extraction in O(len(span) * len(program)).

Threads are kept in priority order, so the first thread to reach MATCH is the
leftmost-first (Perl) winner; lower-priority threads are then cut.  With
``longest=True`` the VM keeps running and a later (longer) match from the same
start replaces an earlier one; captures then follow thread priority, which is
only used for ``shortest``/``longest`` bounds -- POSIX submatches are computed
by :mod:`re_engine.posix`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .prog import (
    ASSERT,
    CHAR,
    CHECK,
    EDGE,
    ENTER,
    FINALNL,
    JMP,
    NL,
    NOT_FRESH,
    SAVE,
    SPLIT,
    WORD,
    Prog,
    check_assert,
    check_loop,
    enter_loop,
)

Caps = tuple[int, ...]


def context_fn(
    text: str | bytes, is_word: Callable[[int], bool]
) -> Callable[[int, int], tuple[int, int]]:
    """Return ``ctx(i, n)`` giving (behind, ahead) context bits at position ``i``.

    ``n`` is the effective end of text (``endpos``).
    """

    def code(i: int) -> int:
        c = text[i]
        return ord(c) if isinstance(c, str) else c

    def ctx(i: int, n: int) -> tuple[int, int]:
        if i <= 0:
            behind = EDGE
        else:
            c = code(i - 1)
            behind = (NL if c == 10 else 0) | (WORD if is_word(c) else 0)
        if i >= n:
            ahead = EDGE
        else:
            c = code(i)
            ahead = (NL if c == 10 else 0) | (WORD if is_word(c) else 0)
            if c == 10 and i == n - 1:
                ahead |= FINALNL
        return behind, ahead

    return ctx


def pike(
    prog: Prog,
    text: str | bytes,
    start: int,
    end: int,
    n: int,
    ctx: Callable[[int, int], tuple[int, int]],
    *,
    anchored: bool = True,
    not_empty_at: int = -1,
    longest: bool = False,
    seeds: Sequence[tuple[int, Caps]] | None = None,
    final: int = -1,
) -> Caps | None:
    """Run the VM on ``text[start:end]``; ``n`` is the effective text end.

    Returns the capture slots of the winning thread (slot ``2k``/``2k+1`` are
    the bounds of group ``k``, -1 when unset), or ``None``.  A match that is
    empty and sits at ``not_empty_at`` is ignored (``finditer``'s rule after an
    empty match).

    ``seeds``: start from these threads, ``(pc, caps)`` in priority order, each
    followed from ``pc`` at ``start`` as the VM follows a thread's next pc
    after a character (instead of one thread at ``prog.start``).  ``final``: a
    CHAR pc; the winner is then the first thread at ``end`` waiting there (a
    fullmatch ending at ``end``, when that pc only ends the pattern).
    """
    op, arg, xs, ys, sets = prog.op, prog.arg, prog.x, prog.y, prog.sets
    nslots = prog.nslots
    mark = [-1] * len(op)
    best: Caps | None = None
    empty: Caps = (-1,) * nslots

    npc = len(op)
    fresh_mark: dict[int, int] = {}  # (pc, freshness) keys of fresh paths -> gen

    def add(
        lst: list[tuple[int, Caps]],
        pc0: int,
        caps0: Caps,
        pos: int,
        gen: int,
        behind: int,
        ahead: int,
    ) -> bool:
        """Follow epsilons from pc0; append CHAR threads.  True if MATCH hit.

        A path is (pc, freshness) (see :class:`~re_engine.prog.Prog`): the
        first thread to reach one wins it, as the first reaches a pc in the
        textbook VM.  CHAR threads are kept once per pc.
        """
        stack: list[tuple[int, Caps, int]] = [(pc0, caps0, NOT_FRESH)]
        while stack:
            pc, caps, fresh = stack.pop()
            while True:
                o = op[pc]
                if fresh == NOT_FRESH or o == CHAR:
                    if mark[pc] == gen:
                        break
                    mark[pc] = gen
                else:
                    key = pc + (fresh + 1) * npc
                    if fresh_mark.get(key) == gen:
                        break
                    fresh_mark[key] = gen
                if o == CHAR:
                    lst.append((pc, caps))
                    break
                if o == SPLIT:
                    stack.append((ys[pc], caps, fresh))
                    pc = xs[pc]
                    continue
                if o == JMP:
                    pc = xs[pc]
                    continue
                if o == SAVE:
                    k = arg[pc]
                    caps = (*caps[:k], pos, *caps[k + 1 :])
                    pc = xs[pc]
                    continue
                if o == ASSERT:
                    if check_assert(arg[pc], behind, ahead):
                        pc = xs[pc]
                        continue
                    break
                if o == ENTER:
                    fresh = enter_loop(fresh, arg[pc])
                    pc = xs[pc]
                    continue
                if o == CHECK:
                    empty, fresh = check_loop(fresh, arg[pc])
                    pc = ys[pc] if empty else xs[pc]
                    continue
                # MATCH
                if pos == not_empty_at and caps[0] == pos:
                    break
                lst.append((-1, caps))
                if not longest:
                    return True
                break
        return False

    clist: list[tuple[int, Caps]] = []
    gen = 0
    pos = start
    behind, ahead = ctx(pos, n)
    for pc0, caps0 in seeds or ((prog.start, empty),):
        if add(clist, pc0, caps0, pos, gen, behind, ahead):
            break
    while True:
        # clist holds CHAR threads and at most one match marker, in priority order
        if pos >= end and final >= 0:
            return next((caps for pc, caps in clist if pc == final), None)
        nlist: list[tuple[int, Caps]] = []
        gen += 1
        c = -1
        if pos < end:
            ch = text[pos]
            c = ord(ch) if isinstance(ch, str) else ch
        nb, na = ctx(pos + 1, n) if pos < end else (0, 0)
        for pc, caps in clist:
            if pc == -1:
                if best is None or longest is False or caps[1] - caps[0] >= best[1] - best[0]:
                    best = caps
                if not longest:
                    break  # cut lower-priority threads
                continue
            if c >= 0 and c in sets[arg[pc]]:
                add(nlist, xs[pc], caps, pos + 1, gen, nb, na)
        if pos >= end:
            break
        if not anchored and (best is None):
            add(nlist, prog.start, empty, pos + 1, gen, nb, na)
        pos += 1
        clist = nlist
        if not clist:
            break
    return best
