"""Glob patterns as IAM uses them, and an exact search for strings that tell patterns apart.

A pattern is a tuple of tokens: ``("lit", c)``, ``("any", excluded)`` (``?``) and ``("star", excluded)`` (``*``),
where ``excluded`` is a set of characters the wildcard may not consume (``:`` inside one ARN segment for
``ArnLike``, ``/`` inside a bucket name). :func:`witnesses` explores the product of the patterns' automata and
returns one shortest string for every achievable combination of match results, so a partition built from it
covers every possible value, not a sample.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

Token = tuple  # ("lit", ch) | ("any", frozenset) | ("star", frozenset)
NO_EXCL: frozenset[str] = frozenset()
ARN_EXCL: frozenset[str] = frozenset(":")
SLASH_EXCL: frozenset[str] = frozenset("/")


class VariableError(ValueError):
    """A policy variable (``${aws:username}``) whose value depends on the request."""


_ESCAPES = {"${*}": "*", "${?}": "?", "${$}": "$"}
_VAR_RE = re.compile(r"\$\{[^}]*\}")


def has_variable(text: str) -> bool:
    return any(m.group(0) not in _ESCAPES for m in _VAR_RE.finditer(text))


@dataclass(frozen=True)
class Pattern:
    """A compiled glob: tokens, case-insensitivity, and a regex for fast matching."""

    tokens: tuple[Token, ...]
    ci: bool = False

    @cached_property
    def has_wildcard(self) -> bool:
        return any(t[0] != "lit" for t in self.tokens)

    @property
    def literal(self) -> str:
        return "".join(t[1] for t in self.tokens if t[0] == "lit")

    def matches(self, text: str) -> bool:
        return self._test(text)

    @cached_property
    def _test(self) -> Callable[[str], bool]:
        """A string comparison for the commonest patterns (case-sensitive: a literal, or a literal then
        ``*``), else the regex."""
        tokens = self.tokens
        if not self.ci and all(t[0] == "lit" for t in tokens):
            word = "".join(t[1] for t in tokens)
            return lambda text: text == word
        if not self.ci and tokens[-1:] == (("star", NO_EXCL),) and all(t[0] == "lit" for t in tokens[:-1]):
            prefix = "".join(t[1] for t in tokens[:-1])
            return lambda text: text.startswith(prefix)
        regex = _regex(tokens, self.ci)
        if self.ci and all(t[0] == "lit" for t in tokens):
            word = "".join(t[1] for t in tokens)
            if word.isascii():  # for ASCII on both sides, lower() is what IGNORECASE compares (actions)
                lower = word.lower()
                return lambda text: text.lower() == lower if text.isascii() else regex.fullmatch(text) is not None
        return lambda text: regex.fullmatch(text) is not None

    def instantiations(self) -> tuple[str, ...]:
        """A few readable strings this pattern matches (wildcards as nothing, or as ``x``)."""
        return self._instantiations

    @cached_property
    def _instantiations(self) -> tuple[str, ...]:
        out = []
        for fill in ("", "x"):
            s = []
            for t in self.tokens:
                if t[0] == "lit":
                    s.append(t[1])
                elif t[0] == "any":
                    s.append("x" if "x" not in t[1] else "0")
                else:
                    s.append(fill if fill not in t[1] else "")
            out.append("".join(s))
        return tuple(out)


@lru_cache(maxsize=4096)
def _regex(tokens: tuple[Token, ...], ci: bool) -> re.Pattern:
    parts = []
    for t in tokens:
        if t[0] == "lit":
            parts.append(re.escape(t[1]))
        else:
            cls = "[^" + "".join(re.escape(c) for c in sorted(t[1])) + "]" if t[1] else "."
            parts.append(cls if t[0] == "any" else cls + "*")
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ci else 0))


@lru_cache(maxsize=8192)
def compile_glob(text: str, *, wildcards: bool = True, ci: bool = False, excl: frozenset[str] = NO_EXCL,
                 variables: bool = False) -> Pattern:
    """``*``/``?`` as wildcards (when ``wildcards``); ``${*}``-style escapes when ``variables``.

    Raises :class:`VariableError` for a real policy variable when ``variables`` is set.
    """
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if variables and text.startswith("${", i):
            end = text.find("}", i)
            if end != -1:
                var = text[i:end + 1]
                if var in _ESCAPES:
                    tokens.append(("lit", _ESCAPES[var]))
                    i = end + 1
                    continue
                raise VariableError(var)
        ch = text[i]
        if wildcards and ch == "*":
            if not (tokens and tokens[-1] == ("star", excl)):
                tokens.append(("star", excl))
        elif wildcards and ch == "?":
            tokens.append(("any", excl))
        else:
            tokens.append(("lit", ch))
        i += 1
    return Pattern(tuple(tokens), ci)


@lru_cache(maxsize=8192)
def compile_arn(text: str, *, variables: bool = False) -> Pattern:
    """``ArnLike``/``ArnEquals``: six colon-separated segments, wildcards never cross a segment (but the
    last segment, the resource, may itself contain colons)."""
    segs = text.split(":", 5)
    tokens: list[Token] = []
    for n, seg in enumerate(segs):
        if n:
            tokens.append(("lit", ":"))
        excl = ARN_EXCL if n < 5 else NO_EXCL
        tokens.extend(compile_glob(seg, excl=excl, variables=variables).tokens)
    return Pattern(tuple(tokens), False)


def literal(text: str, ci: bool = False) -> Pattern:
    return Pattern(tuple(("lit", c) for c in text), ci)


def concat(*parts: Pattern | str) -> Pattern:
    tokens: list[Token] = []
    for p in parts:
        tokens.extend(literal(p).tokens if isinstance(p, str) else p.tokens)
    return Pattern(tuple(tokens), False)


def star(excl: frozenset[str] = NO_EXCL) -> Pattern:
    return Pattern((("star", excl),), False)


# ------------------------------------------------------------------------------------------------------------
# Exact witnesses: one string per achievable combination of match results
# ------------------------------------------------------------------------------------------------------------
class Words(tuple):
    """Any one of these words (a part of :meth:`Nfa.build`)."""


#: The closures of states without ε-moves, shared by every automaton (a scan keeps thousands of automata of
#: one state per character; their own frozensets were two thirds of the policy engine's memory).
_SINGLES = tuple(frozenset((i,)) for i in range(256))
_NO_EPS: tuple[int, ...] = ()


def _single(i: int) -> frozenset[int]:
    return _SINGLES[i] if i < len(_SINGLES) else frozenset((i,))


class Nfa:
    """A small automaton: patterns, and sets of words (a trie), possibly inside a pattern."""

    def __init__(self, ci: bool = False) -> None:
        self.ci = ci
        self.edges: list[list[tuple[str, Any, int]]] = [[]]  # state → (kind "lit"/"not", char/excluded, target)
        self.eps: list[list[int] | tuple[int, ...]] = [[]]
        self.final: frozenset[int] = frozenset()
        self._closure: list[frozenset[int]] = []
        self._chars: set[str] | None = None

    def _new(self) -> int:
        self.edges.append([])
        self.eps.append([])
        return len(self.edges) - 1

    @classmethod
    def build(cls, parts: Sequence[Token | Words], ci: bool = False) -> Nfa:
        """``parts``: tokens, or :class:`Words` (any one of them)."""
        n = cls(ci)
        ends = {0}
        for part in parts:
            if not isinstance(part, Words):
                kind, arg = part
                new = n._new()
                if kind == "star":
                    for e in ends:
                        n.eps[e].append(new)
                    n.edges[new].append(("not", arg, new))
                else:
                    for e in ends:
                        n.edges[e].append(("lit", arg, new) if kind == "lit" else ("not", arg, new))
                ends = {new}
            else:  # a set of words
                root = n._new()
                for e in ends:
                    n.eps[e].append(root)
                new_ends = set()
                trie: dict[tuple[int, str], int] = {}
                for word in part:
                    at = root
                    for ch in word:
                        nxt = trie.get((at, ch))
                        if nxt is None:
                            nxt = trie[(at, ch)] = n._new()
                            n.edges[at].append(("lit", ch, nxt))
                        at = nxt
                    new_ends.add(at)
                ends = new_ends
        n.final = frozenset(ends)
        n._closure = [n._close({i}) if n.eps[i] else _single(i) for i in range(len(n.edges))]
        n.eps = [e or _NO_EPS for e in n.eps]  # read-only from here: one shared empty tuple
        return n

    @classmethod
    def of(cls, p: Pattern | Nfa) -> Nfa:
        return p if isinstance(p, Nfa) else _nfa_of(p)

    def _close(self, states: set[int]) -> frozenset[int]:
        out = set(states)
        stack = list(states)
        while stack:
            for t in self.eps[stack.pop()]:
                if t not in out:
                    out.add(t)
                    stack.append(t)
        return frozenset(out)

    @property
    def start(self) -> frozenset[int]:
        return self._closure[0]

    def chars(self) -> set[str]:
        """Every character some edge singles out (do not modify the set)."""
        if self._chars is None:
            out: set[str] = set()
            for edges in self.edges:
                for kind, arg, _ in edges:
                    if kind == "lit":
                        out.add(arg)
                        if self.ci:
                            out.update({arg.lower(), arg.upper()})
                    else:
                        out.update(arg)
            self._chars = out
        return self._chars


@lru_cache(maxsize=4096)
def _nfa_of(p: Pattern) -> Nfa:
    return Nfa.build(list(p.tokens), p.ci)


@lru_cache(maxsize=1024)
def words_nfa(words: tuple[str, ...]) -> Nfa:
    """An automaton for "one of these words" (kept, like a pattern's)."""
    return Nfa.build([Words(words)])


class _SideBySide:
    """Several automata side by side, run as one DFA built as it goes: a DFA state is the set of states that
    all of them are in (numbered apart), so one step moves them all. State 0 is the empty set (all dead);
    ``nexts[d]`` maps a character to the next state (see :meth:`step`), ``relevant[d]`` holds the characters
    that some automaton in ``d`` singles out, ``sigs[d]`` whether each automaton accepts in ``d``."""

    def __init__(self, nfas: Sequence[Nfa]) -> None:
        self.edges: list[list[tuple[str, Any, int]]] = []
        self.closure: list[frozenset[int]] = []
        self.ci: list[bool] = []
        self.final_of: dict[int, int] = {}  # accepting state → its automaton
        start: set[int] = set()
        for i, n in enumerate(nfas):
            off = len(self.edges)
            self.edges += [[(kind, arg, t + off) for kind, arg, t in edges] for edges in n.edges]
            self.closure += [frozenset(x + off for x in c) for c in n._closure]
            self.ci += [n.ci] * len(n.edges)
            self.final_of.update((f + off, i) for f in n.final)
            start.update(x + off for x in n.start)
        self.finals = frozenset(self.final_of)
        self.none = (False,) * len(nfas)
        self.ids: dict[frozenset[int], int] = {}
        self.sets: list[frozenset[int]] = []
        self.nexts: list[dict[str, int]] = []
        self.relevant: list[frozenset[str]] = []
        self.sigs: list[tuple[bool, ...]] = []
        self.state(frozenset())
        self.start = self.state(frozenset(start))

    def state(self, states: frozenset[int]) -> int:
        got = self.ids.get(states)
        if got is None:
            got = self.ids[states] = len(self.sets)
            self.sets.append(states)
            self.nexts.append({})
            chars: set[str] = set()
            for s in states:
                for kind, arg, _ in self.edges[s]:
                    if kind == "lit":
                        chars.add(arg)
                        if self.ci[s]:
                            chars.update({arg.lower(), arg.upper()})
                    else:
                        chars.update(arg)
            self.relevant.append(frozenset(chars))
            accepting = states & self.finals
            if accepting:
                sig = list(self.none)
                for s in accepting:
                    sig[self.final_of[s]] = True
                self.sigs.append(tuple(sig))
            else:
                self.sigs.append(self.none)
        return got

    def step(self, d: int, ch: str) -> int:
        got = self.nexts[d].get(ch)
        if got is None:
            out: set[int] = set()
            low = ch.lower()
            for s in self.sets[d]:
                for kind, arg, t in self.edges[s]:
                    if kind == "lit":
                        if ch == arg or (self.ci[s] and low == arg.lower()):
                            out |= self.closure[t]
                    elif ch not in arg:
                        out |= self.closure[t]
            got = self.nexts[d][ch] = self.state(frozenset(out))
        return got


def alphabet(patterns: Sequence[Pattern | Nfa], extra: Iterable[str] = ()) -> list[str]:
    """Every character that any pattern treats specially, plus one it treats like any other."""
    chars: set[str] = set(extra)
    for p in patterns:
        chars |= Nfa.of(p).chars()
    spare = _spare(chars)
    return sorted(chars if spare is None else chars | {spare})


def _spare(chars: set[str]) -> str | None:
    """A character that none of ``chars`` is (in either case): it stands for "any other character"."""
    lower = {c.lower() for c in chars}
    return next((c for c in "xzq0123456789_-ZXQ~" if c not in chars and c.lower() not in lower), None)


def witnesses(patterns: Sequence[Pattern | Nfa], *, cap: int = 4000, extra_chars: Iterable[str] = ()
              ) -> tuple[dict[tuple[bool, ...], str], bool]:
    """For every achievable tuple of (matches pattern i), a shortest string achieving it.

    Returns ``(signature → witness, complete)``; ``complete`` is False when the search stopped at ``cap``
    product states (then some rare combinations may be missing). The answer depends on the patterns only,
    and a scan asks again for the same ones (the checks analyse one policy several ways), so it is kept.

    Patterns that all begin with the same literal text (``arn:aws:s3:::bucket`` and ``…/*`` of one bucket)
    are searched without it: only a string that begins with it can match any of them, so every witness but
    the one of "matches none" (the empty string) is that text followed by a witness of the rest, found in the
    same order with the same spare character. The rest is the same for every bucket whose policy is written
    from one template, so the search is done once for them all.
    """
    pats = tuple(patterns)
    extra = tuple(extra_chars)
    n, prefix = _shared_prefix(pats)
    if not prefix:
        found, complete = _witnesses(pats, cap, extra, None)
        return dict(found), complete
    rest = tuple(Pattern(p.tokens[n:]) for p in pats)  # type: ignore[union-attr]
    special = set(prefix).union(*(Nfa.of(p).chars() for p in rest))
    found, complete = _witnesses(rest, cap, extra, _spare(special | set(extra)) or "")
    none = (False,) * len(pats)
    out = {none: ""}
    out.update((sig, prefix + w) for sig, w in found.items() if sig != none)
    return out, complete


def _shared_prefix(patterns: tuple[Pattern | Nfa, ...]) -> tuple[int, str]:
    """(tokens, text) of the literal text every pattern begins with (none unless all are case-sensitive
    :class:`Pattern`)."""
    if not patterns or not all(isinstance(p, Pattern) and not p.ci for p in patterns):
        return 0, ""
    first = patterns[0].tokens  # type: ignore[union-attr]
    n = 0
    while n < len(first) and first[n][0] == "lit" and all(
            len(p.tokens) > n and p.tokens[n] == first[n] for p in patterns[1:]):  # type: ignore[union-attr]
        n += 1
    return n, "".join(t[1] for t in first[:n])


@lru_cache(maxsize=1024)
def _witnesses(patterns: tuple[Pattern | Nfa, ...], cap: int, extra_chars: tuple[str, ...], spare: str | None
               ) -> tuple[dict[tuple[bool, ...], str], bool]:
    nfas = [Nfa.of(p) for p in patterns]
    if not nfas:
        return {(): ""}, True
    if spare is None:
        spare = _spare(set(extra_chars).union(*(n.chars() for n in nfas))) or ""
    fresh = [spare] if spare else []
    # A state of the search: where every pattern is (see :class:`_SideBySide`).
    side = _SideBySide(nfas)
    seen = {side.start: ""}
    queue = deque([side.start])
    found: dict[tuple[bool, ...], str] = {}
    complete = True
    while queue:
        d = queue.popleft()
        text = seen[d]
        found.setdefault(side.sigs[d], text)
        if not d:
            continue  # every pattern is dead: nothing new can happen below
        for ch in sorted(side.relevant[d].union(fresh)):
            nxt = side.step(d, ch)
            if nxt not in seen:
                if len(seen) >= cap:
                    complete = False
                    continue
                seen[nxt] = text + ch
                queue.append(nxt)
    return found, complete
