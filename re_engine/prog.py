"""From a tree to a resolved core, and from the core to an NFA program.

Resolution applies case folding, greediness inheritance and ``no_group``,
numbers the capturing groups in order of their opening, and records the
matching semantics.  The NFA program is a Thompson automaton in flat arrays,
shared by the Pike VM (submatches) and the lazy DFA (match bounds).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import is_
from typing import Any, cast

from . import ast as R
from .charset import CharSet, word
from .errors import ReError, TooLarge

# ------------------------------------------------------------------ core IR


Cap = R.Cap
Core = R.Node
"""After :func:`resolve` only Set, Seq, Alt, Repeat (greedy set), Assert and Cap remain."""


@dataclass
class Resolved:
    core: Core
    ngroups: int
    names: dict[str, int]
    sem: str
    has_inner_sem: bool
    _shape: Shape | None = None

    def shape(self) -> Shape:
        """:func:`measure` of the core (measured once)."""
        if self._shape is None:
            self._shape = measure(self.core)
        return self._shape


_LEAVES = frozenset({R.Set, R.Assert})
_NODE_TYPES = frozenset(
    {R.Set, R.Seq, R.Alt, R.Repeat, R.Group, R.Assert, R.NoGroup, R.Sem, R.Greedy, R.Case}
)


def resolve(node: R.Re, is_bytes: bool, default_sem: str = "first") -> Resolved:
    """Resolve modifiers of ``node`` into the core IR."""
    top = 0xFF if is_bytes else 0x10FFFF
    counter = [0]
    names: dict[str, int] = {}
    sem = default_sem
    inner = [False]
    sets: dict[tuple[CharSet, bool], R.Set] = {}  # each set folded and clipped once
    n = node
    while isinstance(n, R.Sem):
        sem = n.kind
        n = n.node

    Set, Seq, Alt, Repeat, Group = R.Set, R.Seq, R.Alt, R.Repeat, R.Group
    Assert = frozenset({R.Assert})

    def go(n: Any, fold: bool, greedy: bool, capture: bool, depth: int) -> Core:
        if depth > 1000:
            raise ReError("expression nested too deeply (limit 1000)")
        t: Any = type(n)  # one identity test per kind, the common kinds first
        if t not in _NODE_TYPES:  # a subclass: treated as the node type it extends
            t = next((b for b in t.__mro__ if b in _NODE_TYPES), None)
        if t is Set:
            if not fold and not is_bytes and type(n) is Set:
                return n  # immutable: shared as it is
            got = sets.get((n.cs, fold))
            if got is None:
                cs = n.cs.case_fold() if fold else n.cs
                got = sets[n.cs, fold] = Set(cs.clip(top) if is_bytes else cs)
            return got
        depth += 1
        # a node whose parts come back unchanged is kept (nodes are immutable)
        if t is Seq or t is Alt:
            # leaves that stay as they are (the many literals) without a call
            keep = Assert if fold or is_bytes else _LEAVES
            items = [x if type(x) in keep else go(x, fold, greedy, capture, depth) for x in n.items]
            if t is Alt and len(items) > 1 and all(type(x) is Set for x in items):
                # single characters: a class, as RE2's parser makes it ((?:a|b) is [ab];
                # whichever branch takes the character, the same path goes on)
                leaves = cast("list[R.Set]", items)
                cs = leaves[0].cs
                for x in leaves[1:]:
                    cs = cs.union(x.cs)
                return Set(cs)
            if type(n) is t and all(map(is_, items, n.items)):
                return n
            return t(tuple(items))
        if t is Repeat:
            body = go(n.node, fold, greedy, capture, depth)
            if n.greedy is not None and body is n.node and type(n) is Repeat:
                return n
            return Repeat(body, n.min, n.max, greedy if n.greedy is None else n.greedy)
        if t is Group:
            if not capture:
                return go(n.node, fold, greedy, capture, depth)
            counter[0] += 1
            idx = counter[0]
            if n.name is not None:
                if n.name in names:
                    raise ReError(f"redefinition of group name {n.name!r}")
                names[n.name] = idx
            return Cap(go(n.node, fold, greedy, capture, depth), idx)
        if t is R.Assert:
            return n if type(n) is R.Assert else R.Assert(n.kind)
        if t is R.NoGroup:
            return go(n.node, fold, greedy, False, depth)
        if t is R.Sem:
            inner[0] = True
            # Inner semantics are approximated through greediness: see docs.
            g = {"longest": True, "shortest": False, "first": greedy}[n.kind]
            return go(n.node, fold, g, capture, depth)
        if t is R.Greedy:
            return go(n.node, fold, n.greedy, capture, depth)
        if t is R.Case:
            return go(n.node, n.fold, greedy, capture, depth)
        raise ReError(f"not a regular expression node: {n!r}")

    core = go(n, False, True, True, 0)
    return Resolved(core, counter[0], names, sem, inner[0])


_REV = {
    "bol": "eol",
    "eol": "bol",
    "bos": "eos",
    "eos": "bos",
    "bow": "eow",
    "eow": "bow",
    "leol": "rleol",
    "rleol": "leol",
    "wordb": "wordb",
    "nwordb": "nwordb",
}


def reverse(c: Core) -> Core:
    """The core matching the reversed strings (groups dropped)."""
    if isinstance(c, R.Seq):
        return R.Seq(tuple(reverse(x) for x in reversed(c.items)))
    if isinstance(c, R.Alt):
        return R.Alt(tuple(reverse(x) for x in c.items))
    if isinstance(c, R.Repeat):
        return R.Repeat(reverse(c.node), c.min, c.max, c.greedy)
    if isinstance(c, Cap):
        return reverse(c.node)
    if isinstance(c, R.Assert):
        return R.Assert(_REV[c.kind])  # type: ignore[arg-type]
    return c


def nullable(c: Any) -> bool:
    """Does ``c`` match the empty string?"""
    t = type(c)
    if t is R.Set:
        return False
    if t is R.Seq:
        return all(map(nullable, c.items))
    if t is R.Repeat:
        return c.min == 0 or nullable(c.node)
    if t is Cap:
        return nullable(c.node)
    if t is R.Alt:
        return any(map(nullable, c.items))
    return True


Shape = tuple[int, int, "int | None", int, bool]
"""See :func:`measure`."""


def measure(c: Core) -> Shape:
    """``(nodes, min length, max length, instructions, nullable)`` of ``c``, in one pass.

    ``nodes`` counts the tree's nodes; the lengths are those of the shortest
    and longest match in characters (``None``: unbounded); ``instructions``
    is the number :func:`compile_prog` makes of ``c`` without captures (the
    final MATCH not included): a counted repeat multiplies its body's count;
    ``nullable``: whether ``c`` matches the empty string.  A subtree the tree
    holds more than once (a list of words a pattern repeats) is measured once.
    """
    memo: dict[int, Shape] = {}

    def go(c: Any) -> Shape:
        t = type(c)
        if t is R.Set:
            return (1, 1, 1, 1, False) if c.cs.ranges else (1, 0, 0, 1, False)
        if t is R.Assert:
            return 1, 0, 0, 1, True
        got = memo.get(id(c))
        if got is not None:
            return got
        r: Shape
        if t is R.Seq:
            n, lo, prog, null = 1, 0, 0, True
            hi: int | None = 0
            for x in c.items:
                if type(x) is R.Set and x.cs.ranges:  # a character: inline
                    n += 1
                    lo += 1
                    if hi is not None:
                        hi += 1
                    prog += 1
                    null = False
                    continue
                xn, xlo, xhi, xprog, xnull = go(x)
                n += xn
                lo += xlo
                hi = None if hi is None or xhi is None else hi + xhi
                prog += xprog
                null = null and xnull
            r = n, lo, hi, prog or 1, null
        elif t is R.Repeat:
            bn, blo, bhi, bprog, bnull = go(c.node)
            lo, hi = blo * c.min, None
            if c.max is None:
                hi = 0 if bhi == 0 else None
            elif bhi is not None:
                hi = bhi * c.max
            if type(c.node) is R.Set and c.max is not None:
                prog = c.min + 2 * (c.max - c.min)
            else:
                # ENTER and CHECK around each optional iteration of a nullable body
                chk = 2 if bnull else 0
                prog = c.min * bprog
                if c.max is None:
                    prog += 1 + bprog + chk
                elif c.max > c.min:
                    k = c.max - c.min
                    prog += k * (1 + bprog) + (k - 1) * chk
            r = bn + 1, lo, hi, prog or 1, c.min == 0 or bnull
        elif t is Cap:
            bn, blo, bhi, bprog, bnull = go(c.node)
            r = bn + 1, blo, bhi, bprog, bnull
        elif t is R.Alt:
            if not c.items:
                return 1, 0, 0, 1, False
            n, prog, null = 1, len(c.items) - 1, False
            lo = -1
            hi = 0
            for x in c.items:
                xn, xlo, xhi, xprog, xnull = go(x)
                n += xn
                if lo < 0 or xlo < lo:
                    lo = xlo
                if hi is not None:
                    hi = None if xhi is None else max(hi, xhi)
                prog += xprog
                null = null or xnull
            r = n, lo, hi, prog, null
        else:
            raise ReError(f"cannot compile {c!r}")
        memo[id(c)] = r
        return r

    return go(c)


def min_max_len(c: Core) -> tuple[int, int | None]:
    """Shortest and longest match length in characters (``None``: unbounded)."""
    _n, lo, hi, _p, _z = measure(c)
    return lo, hi


def prog_size(c: Core) -> int:
    """The number of instructions :func:`compile_prog` makes of ``c`` without captures.

    Counted on the tree (:func:`measure`), without building anything: lets
    :func:`re_engine.compile` refuse a program over :data:`MAX_PROG` with
    :class:`TooLarge` at once while the program itself is built on first use.
    """
    return measure(c)[3] + 1


# -------------------------------------------------------------- NFA program

CHAR, SPLIT, JMP, SAVE, ASSERT, MATCH, ENTER, CHECK = range(8)

NOT_FRESH = 1 << 20
"""The freshness of a path on which no loop iteration has begun at the current position."""


def enter_loop(fresh: int, depth: int) -> int:
    """Freshness after ``ENTER depth``: an iteration of that loop begins here.

    A path's freshness is the nesting depth of the outermost loop whose
    current iteration began at the current position (``NOT_FRESH``: none).
    Every loop nested in a fresh iteration is fresh too, so one number says
    which loops on the path are: those at that depth or deeper.
    """
    return min(fresh, depth)


def check_loop(fresh: int, depth: int) -> tuple[bool, int]:
    """At ``CHECK depth`` (an iteration ends): was it empty, and the freshness after leaving.

    An empty optional iteration ends its loop, as in Perl and ``re``: the
    path goes on after the loop instead of starting another iteration.
    """
    if fresh > depth:
        return False, fresh
    return True, NOT_FRESH if fresh == depth else fresh


# context bits, for the side already consumed ("behind") and the next char
EDGE, NL, WORD, FINALNL = 1, 2, 4, 8

ASSERT_CODES = {
    k: i
    for i, k in enumerate(
        ["bol", "eol", "bos", "eos", "leol", "rleol", "bow", "eow", "wordb", "nwordb"]
    )
}


ASSERT_READS = (NL, NL, 0, 0, FINALNL, FINALNL, WORD, WORD, WORD, WORD)
"""Per assertion code (:data:`ASSERT_CODES`), the context bits it reads besides ``EDGE``."""


def context_reads(prog: Prog) -> int:
    """The context bits the assertions of ``prog`` read (``EDGE`` and each one's
    :data:`ASSERT_READS`); 0 for a program without assertions."""
    bits = 0
    for pc, o in enumerate(prog.op):
        if o == ASSERT:
            bits |= EDGE | ASSERT_READS[prog.arg[pc]]
    return bits


def check_assert(code: int, behind: int, ahead: int) -> bool:
    """Evaluate an assertion given the context bits on either side."""
    if code == 0:  # bol
        return bool(behind & (EDGE | NL))
    if code == 1:  # eol
        return bool(ahead & (EDGE | NL))
    if code == 2:  # bos
        return bool(behind & EDGE)
    if code == 3:  # eos
        return bool(ahead & EDGE)
    if code == 4:  # leol: end, or before a final newline
        return bool(ahead & (EDGE | FINALNL))
    if code == 5:  # rleol (reversed leol)
        return bool(behind & (EDGE | FINALNL))
    bw = bool(behind & WORD)
    aw = bool(ahead & WORD)
    if code == 6:
        return not bw and aw
    if code == 7:
        return bw and not aw
    if code == 8:
        return bw != aw
    return bw == aw


MAX_PROG = 50_000


class Prog:
    """A Thompson NFA in flat arrays.

    ``op[pc]`` is one of CHAR, SPLIT, JMP, SAVE, ASSERT, MATCH, ENTER, CHECK;
    ``arg[pc]`` the set index (CHAR), slot (SAVE), assertion code (ASSERT) or
    loop depth (ENTER, CHECK); ``x[pc]``/``y[pc]`` the successors (SPLIT
    prefers ``x``).

    ENTER and CHECK bracket each optional iteration of a loop whose body can
    match the empty string (Perl's rule, also ``re``'s and RE2's: an optional
    iteration that matched nothing ends the loop).  ENTER marks the path
    "fresh" at that loop's depth (:func:`enter_loop`); CHECK continues to
    ``x`` (the next iteration) when the iteration consumed characters and to
    ``y`` (after the loop) when it did not (:func:`check_loop`).  A path's
    future depends on its pc and its freshness, so the Pike VM and the DFA
    deduplicate threads by both; there are at most ``depth + 1`` freshness
    values per pc, which keeps every scan linear.
    """

    def __init__(self, is_bytes: bool) -> None:
        self.op: list[int] = []
        self.arg: list[int] = []
        self.x: list[int] = []
        self.y: list[int] = []
        self.sets: list[CharSet] = []
        self._set_index: dict[CharSet, int] = {}
        self.start = 0
        self.is_bytes = is_bytes
        self.uses_word = False
        self.uses_nl = False
        self.uses_final = False
        self.nslots = 0

    def emit(self, op: int, arg: int = 0, x: int = -1, y: int = -1) -> int:
        if len(self.op) >= MAX_PROG:
            raise TooLarge(
                f"compiled program exceeds {MAX_PROG} instructions (reduce counted repetitions)"
            )
        self.op.append(op)
        self.arg.append(arg)
        self.x.append(x)
        self.y.append(y)
        return len(self.op) - 1

    def set_id(self, cs: CharSet) -> int:
        i = self._set_index.get(cs)
        if i is None:
            i = len(self.sets)
            self.sets.append(cs)
            self._set_index[cs] = i
        return i

    def __len__(self) -> int:
        return len(self.op)


def compile_prog(core: Core, is_bytes: bool, ngroups: int, captures: bool = True) -> Prog:
    """Compile the core to a program: SAVE 0, body, SAVE 1, MATCH."""
    p = Prog(is_bytes)
    p.nslots = 2 * (ngroups + 1)
    holes: list[tuple[int, str]] = []

    def patch(hs: list[tuple[int, str]], target: int) -> None:
        for pc, which in hs:
            if which == "x":
                p.x[pc] = target
            else:
                p.y[pc] = target

    # gen returns (entry pc, list of dangling exits)
    def gen(c: Core) -> tuple[int, list[tuple[int, str]]]:
        if isinstance(c, R.Set):
            pc = p.emit(CHAR, p.set_id(c.cs))
            return pc, [(pc, "x")]
        if isinstance(c, R.Assert):
            code = ASSERT_CODES[c.kind]
            if code in (6, 7, 8, 9):
                p.uses_word = True
            if code in (0, 1):
                p.uses_nl = True
            if code in (4, 5):
                p.uses_final = True
            pc = p.emit(ASSERT, code)
            return pc, [(pc, "x")]
        if isinstance(c, Cap):
            if not captures:
                return gen(c.node)
            a = p.emit(SAVE, 2 * c.index)
            e, outs = gen(c.node)
            p.x[a] = e
            b = p.emit(SAVE, 2 * c.index + 1)
            patch(outs, b)
            return a, [(b, "x")]
        if isinstance(c, R.Seq):
            if not c.items:
                pc = p.emit(JMP)
                return pc, [(pc, "x")]
            entry = -1
            tails: list[tuple[int, str]] = []
            op, arg, xs, ys, set_id = p.op, p.arg, p.x, p.y, p.set_id
            for it in c.items:
                if type(it) is R.Set:  # the common case inline: one CHAR after another
                    pc = len(op)
                    if pc >= MAX_PROG:
                        p.emit(CHAR)  # raises TooLarge
                    op.append(CHAR)
                    arg.append(set_id(it.cs))
                    xs.append(-1)
                    ys.append(-1)
                    e2, o2 = pc, [(pc, "x")]
                else:
                    e2, o2 = gen(it)
                if entry < 0:
                    entry = e2
                else:
                    patch(tails, e2)
                tails = o2
            return entry, tails
        if isinstance(c, R.Alt):
            if not c.items:
                # matches nothing: a CHAR on the empty set
                pc = p.emit(CHAR, p.set_id(CharSet()))
                return pc, [(pc, "x")]
            if len(c.items) == 1:
                return gen(c.items[0])
            entries: list[int] = []
            outs_all: list[tuple[int, str]] = []
            splits: list[int] = []
            for i, it in enumerate(c.items):
                if i < len(c.items) - 1:
                    splits.append(p.emit(SPLIT))
                e, o = gen(it)
                entries.append(e)
                outs_all.extend(o)
            for i, s in enumerate(splits):
                p.x[s] = entries[i]
                p.y[s] = splits[i + 1] if i + 1 < len(splits) else entries[i + 1]
            return splits[0], outs_all
        if isinstance(c, R.Repeat):
            return gen_repeat(c)
        raise ReError(f"cannot compile {c!r}")

    depth = [0]  # ENTER/CHECK loops enclosing the code being generated

    def gen_iteration(
        body: Core, checked: bool, empty: bool | None = None
    ) -> tuple[int, list[tuple[int, str]], int]:
        """One optional iteration: (entry, exits, CHECK pc or -1).

        ``checked`` iterations of a nullable body are bracketed by ENTER and
        CHECK; the CHECK's ``x`` is left for the caller (the next iteration),
        its ``y`` (empty iteration: leave the loop) is among the exits.
        ``empty``: ``nullable(body)`` if the caller knows it.
        """
        if empty is None:
            empty = nullable(body)
        if not (checked and empty):
            e, outs = gen(body)
            return e, outs, -1
        d = depth[0]
        a = p.emit(ENTER, d)
        depth[0] += 1
        e, outs = gen(body)
        depth[0] -= 1
        p.x[a] = e
        chk = p.emit(CHECK, d)
        patch(outs, chk)
        return a, [(chk, "y")], chk

    def gen_star(body: Core, greedy: bool) -> tuple[int, list[tuple[int, str]]]:
        s = p.emit(SPLIT)
        e, outs, chk = gen_iteration(body, True)
        if chk >= 0:
            p.x[chk] = s
            exits = outs
        else:
            patch(outs, s)
            exits = []
        if greedy:
            p.x[s] = e
            return s, [(s, "y"), *exits]
        p.y[s] = e
        return s, [(s, "x"), *exits]

    def gen_opt(body: Core, greedy: bool) -> tuple[int, list[tuple[int, str]]]:
        s = p.emit(SPLIT)
        e, outs = gen(body)
        if greedy:
            p.x[s] = e
            return s, [*outs, (s, "y")]
        p.y[s] = e
        return s, [*outs, (s, "x")]

    def bulk(ops: list[int], args: list[int], xs: list[int], ys: list[int]) -> int:
        """Append instructions whose successors are already set; the first one's pc."""
        pc = len(p.op)
        if pc + len(ops) > MAX_PROG:
            raise TooLarge(
                f"compiled program exceeds {MAX_PROG} instructions (reduce counted repetitions)"
            )
        p.op.extend(ops)
        p.arg.extend(args)
        p.x.extend(xs)
        p.y.extend(ys)
        return pc

    def gen_set_repeat(c: R.Repeat, cs: CharSet) -> tuple[int, list[tuple[int, str]]]:
        """``C{m,n}`` (``n`` finite) of one set: the instructions :func:`gen_repeat`
        makes (``m`` CHARs, then ``n - m`` SPLIT/CHAR pairs), laid out at once."""
        greedy = c.greedy is not False
        m = c.min
        k = (c.max if c.max is not None else m) - m
        total = m + 2 * k
        if total == 0:
            pc = p.emit(JMP)
            return pc, [(pc, "x")]
        sid = p.set_id(cs)
        base = len(p.op)
        # CHAR i (i < m) at base + i goes on to the next instruction; the
        # optional pairs (SPLIT at base + m + 2j, CHAR after it) chain alike
        xs = list(range(base + 1, base + total + 1))
        xs[-1] = -1
        ys = [-1] * total
        ops = [CHAR] * m + [SPLIT, CHAR] * k
        args = [sid] * m + [0, sid] * k
        exits: list[tuple[int, str]] = []
        for j in range(k):
            sp = base + m + 2 * j
            if not greedy:  # prefer skipping: x leaves, y takes the character
                ys[sp - base] = sp + 1
                xs[sp - base] = -1
                exits.append((sp, "x"))
            else:
                exits.append((sp, "y"))
        exits.append((base + total - 1, "x"))
        bulk(ops, args, xs, ys)
        return base, exits

    def gen_repeat(c: R.Repeat) -> tuple[int, list[tuple[int, str]]]:
        if type(c.node) is R.Set and c.max is not None:
            return gen_set_repeat(c, c.node.cs)
        greedy = c.greedy is not False
        parts: list[tuple[int, list[tuple[int, str]]]] = []
        for _ in range(c.min):
            parts.append(gen(c.node))
        if c.max is None:
            parts.append(gen_star(c.node, greedy))
        else:
            # nested optionals: (x(x(x)?)?)? keeps priorities right
            k = c.max - c.min
            if k > 0:
                opt_entries: list[tuple[int, list[tuple[int, str]], int]] = []
                body_empty = nullable(c.node)
                for i in range(k):
                    s = p.emit(SPLIT)
                    # the last iteration needs no CHECK: after it the loop ends anyway
                    e, outs, chk = gen_iteration(c.node, i + 1 < k, body_empty)
                    opt_entries.append((s, outs, chk))
                    if greedy:
                        p.x[s] = e
                    else:
                        p.y[s] = e
                # chain: each body's exit goes to the next split; skipping
                # exits (and empty iterations) jump to the end
                skip_holes: list[tuple[int, str]] = []
                for i, (s, outs, chk) in enumerate(opt_entries):
                    skip_holes.append((s, "y" if greedy else "x"))
                    if i + 1 < len(opt_entries):
                        nxt = opt_entries[i + 1][0]
                        if chk >= 0:
                            p.x[chk] = nxt
                            skip_holes.extend(outs)
                        else:
                            patch(outs, nxt)
                    else:
                        skip_holes.extend(outs)
                parts.append((opt_entries[0][0], skip_holes))
        if not parts:
            pc = p.emit(JMP)
            return pc, [(pc, "x")]
        entry, outs = parts[0]
        for e2, o2 in parts[1:]:
            patch(outs, e2)
            outs = o2
        return entry, outs

    if captures:
        s0 = p.emit(SAVE, 0)
        e, outs = gen(core)
        p.x[s0] = e
        s1 = p.emit(SAVE, 1)
        patch(outs, s1)
        m = p.emit(MATCH)
        p.x[s1] = m
        p.start = s0
    else:
        e, outs = gen(core)
        m = p.emit(MATCH)
        patch(outs, m)
        p.start = e
    del holes
    return p


def word_set(is_bytes: bool) -> CharSet:
    return word(not is_bytes)
