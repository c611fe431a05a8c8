"""Which globals a notebook cell reads and binds, found by static analysis of its source.

`%%track` records as params the scalar globals a cell reads before defining them. Nothing is run:
the cell is turned into plain Python by IPython's `TransformerManager` and parsed; a cell that does
not parse (or nests too deeply to walk) has no inputs and no outputs — it fails on its own when run.

The rule. The cell is walked in evaluation order, keeping the set of globals *definitely bound on
every path* to the current point. A read of a global outside that set is an input (first-read
order). In detail:

- Order: the right side before the targets (`lr = lr * 2` reads lr); `n += 1` reads n; `x: int`
  binds nothing; `(y := 3)` binds y; `d["k"] = v`, `cfg.lr = v` and `del d["k"]` read d (and
  `"k"`) and bind nothing; `del x` unbinds x, so a later read is an input again.
- Paths join by intersection: `if`/`else`; `match` cases (plus the no-match path unless a case is
  a bare `case _:`/`case name:` without guard); the branches of `a if c else b`; the right side of
  `and`/`or` and the tail of a chained comparison may not run. `try`: a name is bound after it
  only if bound by body+`else` *and* by every handler; handlers start from what was bound before
  `try`, minus what the body may delete; `finally` is read on every path. `raise`, `return`,
  `break` and `continue` end their path, so `else: raise` does not weaken a join. `with` bodies
  are assumed to run to the end (`contextlib.suppress` is not recognised).
- Loops may run zero times: bindings in a `for`/`while` body do not count after the loop, except
  in `while True:`, which only ends by `break` (a name bound before every `break` counts). The
  `for` target is bound inside the body; bodies are re-walked until the bound set is stable.
- Scopes: comprehensions and generator expressions have their own scope (targets are local, the
  first iterable is read outside; treated as run where written, and their walrus targets as
  maybe-bound). In functions and lambdas, parameters and names bound in the body are local,
  `global` names are globals, enclosing functions' locals are closures. A class body runs at its
  definition; names it binds are class attributes, not globals.
- Functions defined in the cell: `def` (or `f = lambda ...`) binds the name and reads decorators,
  defaults and annotations at once. The body runs where the function is *called* by name (after
  the arguments): its global reads are inputs if unbound there, and its `global` assignments bind
  there if made on every path through the body. A function referenced other than by a direct call
  (a callback, stored, returned, `partial(f)`) is treated as maybe-called at that reference, and
  so is any other lambda where it is written. Using a cell-defined class (instantiating,
  subclassing, passing it) maybe-calls all its methods. Recursion is followed once; decorators
  are assumed not to call what they decorate; functions from earlier cells are opaque.
- Bindings: `import a.b` binds a, `import a.b as c` binds c, `from m import x` binds x, `from m
  import *` binds nothing known; `with e as f` and match captures bind; `except E as e` binds e
  in the handler and unbinds it after, as Python does.
- IPython: `%time stmt` is analysed as cell code; `%timeit [options] stmt` as code in its own
  function scope; `{expr}` and `$name` in `!cmd` and other line magics are reads (IPython expands
  them from the namespace); `x?` reads nothing.
- Builtins (and IPython's get_ipython/display) are left out of `cell_inputs` unless the cell binds
  the name; `scalar_params` considers them, so a builtin name shadowed by a scalar global is found.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Scalar = int | float | str | bool | None

_BUILTINS = frozenset(dir(builtins)) | {"get_ipython", "display"}
_IPYTHON_NAMES = re.compile(r"_|_i{1,3}|_i?\d+|_[iod]h|In|Out")  # plus dunders, see _hidden
_SCALAR_TYPES = (bool, int, float, str, type(None))
_SKIP = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_TIMEIT_OPTIONS = re.compile(r"\s*(?:-(?:[tcqo]*[nrp]\s*\S+|[tcqo]+)\s+)*")


def cell_inputs(source: str) -> list[str]:
    """Global names the cell reads before (or without) assigning them, in first-read order.

    >>> cell_inputs("lr = lr * 2\\nmodel.fit(X, epochs=n)")
    ['lr', 'model', 'X', 'n']
    """
    inputs, _, bound = _analyze(source)
    return [name for name in inputs if name not in _BUILTINS or name in bound]


def cell_outputs(source: str) -> list[str]:
    """Global names the cell assigns at top level (for later use, e.g. to find metrics/models).

    A name counts if some path binds it (at module level, or by `global` in a called cell
    function) and the cell does not delete it without binding it again on every path.
    """
    return list(_analyze(source)[1])


def scalar_params(source: str, namespace: Mapping[str, object]) -> dict[str, Scalar]:
    """The cell's inputs whose current value in `namespace` is a scalar (numpy scalars as Python).

    >>> scalar_params("clf = SVC(C=C, kernel=kind)", {"C": 1.0, "kind": "rbf", "SVC": object})
    {'C': 1.0, 'kind': 'rbf'}
    """
    params: dict[str, Scalar] = {}
    for name in _analyze(source)[0]:
        if name in namespace and not _hidden(name):
            value = _scalar(namespace[name])
            if value is not _NOT_SCALAR:
                params[name] = value  # type: ignore[assignment]
    return params


_NOT_SCALAR = object()


def _hidden(name: str) -> bool:
    return (name.startswith("__") and name.endswith("__")) or bool(_IPYTHON_NAMES.fullmatch(name))


def _scalar(value: object) -> object:
    numpy = sys.modules.get("numpy")  # numpy values can only exist if numpy is imported
    if numpy is not None and isinstance(value, numpy.generic):
        value = value.item()
    return value if type(value) in _SCALAR_TYPES else _NOT_SCALAR


@functools.lru_cache(maxsize=512)
def _analyze(source: str) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """(inputs, outputs, names bound anywhere at module level) of one cell."""
    try:
        flow = _Flow()
        flow.stmts(_parse(_transformer().transform_cell(source), strict=True))
    except (SyntaxError, ValueError, RecursionError):  # ValueError: null bytes on Python 3.11
        return (), (), frozenset()
    final = flow.state.bound if flow.state is not None else set()
    outputs = tuple(n for n in flow.bound if n in final or n not in flow.deleted)
    return tuple(flow.inputs), outputs, frozenset(flow.bound)


@functools.cache
def _transformer():  # type: ignore[no-untyped-def]
    from IPython.core.inputtransformer2 import TransformerManager  # heavy: import on first use

    return TransformerManager()


def _parse(code: str, strict: bool = False) -> list[ast.stmt]:
    try:
        return ast.parse(code).body
    except (SyntaxError, ValueError):
        if strict:
            raise
        return []  # an unparsable `%time` argument: IPython reports it, nothing runs


def _expansions(text: str) -> list[ast.expr]:
    """The expressions IPython's var_expand evaluates in `{expr}` and `$name` of a magic line."""
    from IPython.utils.text import DollarFormatter

    try:
        fields = [(f, spec) for _, f, spec, _ in DollarFormatter().parse(text) if f]
    except ValueError:  # unbalanced braces: IPython leaves the line unexpanded
        return []
    return [e.body for f, spec in fields if (e := _parse_expr(f"{f}:{spec}" if spec else f))]


def _parse_expr(text: str) -> ast.Expression | None:
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return None


def _scan(nodes: Iterable[ast.AST]) -> tuple[set[str], set[str], set[str], set[str]]:
    """(bound, global, nonlocal, deleted) names of a scope body, not looking into nested scopes."""
    bound: set[str] = set()
    glob: set[str] = set()
    nonloc: set[str] = set()
    deleted: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                bound.add(node.id)
                if isinstance(node.ctx, ast.Del):
                    deleted.add(node.id)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, _COMPS):  # only walrus targets leak out of a comprehension
            bound.update(n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(a.asname or a.name.split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.Global):
            glob.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            nonloc.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
            deleted.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return bound, glob, nonloc, deleted


@dataclass(eq=False)
class _Scope:
    kind: str  # "func", "class" or "comp"
    local: frozenset[str]
    glob: frozenset[str]
    parent: _Scope | None


@dataclass(eq=False)
class _Func:
    node: ast.AST  # FunctionDef, AsyncFunctionDef, Lambda or ClassDef
    scope: _Scope | None  # where it was defined, for closures
    methods: tuple[_Func, ...] | None = None  # for a class
    memo: tuple[_State, _State | None] | None = None  # (state at a call, state after it)


FuncKey = tuple[_Scope | None, str]


class _State:
    """Globals definitely bound, and the cell functions each name may be bound to."""

    __slots__ = ("bound", "funcs")

    def __init__(self, bound: Iterable[str] = (), funcs: Mapping[FuncKey, tuple[_Func, ...]] = {}) -> None:
        self.bound = set(bound)
        self.funcs = dict(funcs)

    def copy(self) -> _State:
        return _State(self.bound, self.funcs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _State) and (self.bound, self.funcs) == (other.bound, other.funcs)


def _join(*states: _State | None) -> _State | None:
    """Where paths meet: bound on every live path; a function if on any. None: no live path."""
    live = [s for s in states if s is not None]
    if not live:
        return None
    out = live[0].copy()
    for state in live[1:]:
        out.bound &= state.bound
        for key, fns in state.funcs.items():
            out.funcs[key] = tuple(dict.fromkeys(out.funcs.get(key, ()) + fns))
    return out


class _Flow:
    """One walk over a cell, in evaluation order; `state` is None on a path that cannot continue."""

    def __init__(self) -> None:
        self.state: _State | None = _State()
        self.scope: _Scope | None = None  # None: module level
        self.inputs: dict[str, None] = {}
        self.bound: dict[str, None] = {}  # globals bound on some path, first binding first
        self.deleted: set[str] = set()
        self.loops: list[tuple[list[_State | None], list[_State | None]]] = []  # (breaks, continues)
        self.returns: list[_State | None] = []
        self.active: set[_Func] = set()  # functions being walked: recursion is followed once
        self.made: dict[tuple[int, _Scope | None], _Func] = {}  # one _Func per def, so loops settle
        self.scopes: dict[int, tuple[frozenset[str], frozenset[str]]] = {}

    # names
    def where(self, name: str, skip_comp: bool = False) -> _Scope | None:
        """The scope a name is local to; None for a global."""
        scope, innermost = self.scope, True
        while scope is not None:
            if (scope.kind == "class" and not innermost) or (skip_comp and scope.kind == "comp"):
                pass  # class attributes are not visible in nested scopes; walrus skips comprehensions
            elif name in scope.glob:
                return None
            elif name in scope.local:
                return scope
            scope, innermost = scope.parent, False
        return None

    def read(self, name: str, calling: bool = False) -> tuple[_Func, ...]:
        if self.state is None:
            return ()
        where = self.where(name)
        if where is None and name not in self.state.bound:
            self.inputs.setdefault(name)
        fns = self.state.funcs.get((where, name), ())
        if fns and not calling:
            self.run_any(fns, maybe=True)  # the function escapes: it may run from here on
        return fns

    def bind(self, name: str, fn: _Func | None = None, skip_comp: bool = False) -> None:
        if self.state is None:
            return
        where = self.where(name, skip_comp)
        if fn is None:
            self.state.funcs.pop((where, name), None)
        else:
            self.state.funcs[(where, name)] = (fn,)
        if where is None:
            self.state.bound.add(name)
            self.bound.setdefault(name)

    def unbind(self, name: str) -> None:
        if self.state is not None:
            where = self.where(name)
            self.state.funcs.pop((where, name), None)
            if where is None:
                self.state.bound.discard(name)
                self.deleted.add(name)

    # functions
    def func(self, node: ast.AST, methods: tuple[_Func, ...] | None = None) -> _Func:
        fn = self.made.setdefault((id(node), self.scope), _Func(node, self.scope))
        fn.methods = methods
        return fn

    def locals_of(self, node: ast.AST) -> tuple[frozenset[str], frozenset[str]]:
        if id(node) not in self.scopes:
            body = [node.body] if isinstance(node, ast.Lambda) else node.body  # type: ignore[attr-defined]
            bound, glob, nonloc, _ = _scan(body)
            if not isinstance(node, ast.ClassDef):
                a = node.args  # type: ignore[attr-defined]
                params = (*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg)
                bound |= {p.arg for p in params if p is not None}
            self.scopes[id(node)] = (frozenset(bound - glob - nonloc), frozenset(glob))
        return self.scopes[id(node)]

    def run_any(self, fns: tuple[_Func, ...], maybe: bool = False) -> None:
        if not fns:
            return
        start, exits = self.state, [self.state] if maybe else []
        for fn in fns:
            self.state = start.copy() if start is not None else None
            self.run(fn)
            exits.append(self.state)
        if exits:
            self.state = _join(*exits) if start is not None else None

    def run(self, fn: _Func) -> None:
        if self.state is None or fn in self.active:
            return
        if fn.memo and fn.memo[0].bound <= self.state.bound and fn.memo[0].funcs == self.state.funcs:
            entry, exit_ = fn.memo  # same functions, more bound: no new reads, same effect
            if exit_ is None:
                self.state = None
            else:
                self.state.bound = (self.state.bound - entry.bound) | exit_.bound
                self.state.funcs = dict(exit_.funcs)
            return
        entry = self.state.copy()
        saved = self.scope, self.loops, self.returns
        self.active.add(fn)
        self.loops, self.returns = [], []
        if fn.methods is not None:
            self.run_any(fn.methods, maybe=True)
        else:
            self.scope = _Scope("func", *self.locals_of(fn.node), fn.scope)
            self.stmts(fn.node.body if not isinstance(fn.node, ast.Lambda) else [fn.node.body])  # type: ignore[attr-defined]
            self.state = _join(self.state, *self.returns)
        self.scope, self.loops, self.returns = saved
        self.active.discard(fn)
        fn.memo = (entry, self.state.copy() if self.state is not None else None)

    # walking
    def stmts(self, nodes: Iterable[ast.AST]) -> None:
        for node in nodes:
            self.visit(node)

    def visit(self, node: ast.AST | None) -> None:
        if node is not None and self.state is not None:  # dead code reads and binds nothing
            getattr(self, "v_" + type(node).__name__, self.generic)(node)

    def generic(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SKIP):
                self.visit(child)

    def fork(self, *bodies: Iterable[ast.AST | None]) -> None:
        """Walk alternative paths from the same state, then join them."""
        start, exits = self.state, []
        for body in bodies:
            self.state = start.copy() if start is not None else None
            self.stmts(body)
            exits.append(self.state)
        self.state = _join(*exits)

    def v_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.read(node.id)
        elif isinstance(node.ctx, ast.Store):
            self.bind(node.id)
        else:
            self.unbind(node.id)

    def v_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stmts(node.decorator_list)
        self.arguments(node.args)
        self.visit(node.returns)
        self.bind(node.name, self.func(node))

    v_AsyncFunctionDef = v_FunctionDef

    def arguments(self, args: ast.arguments) -> None:
        self.stmts([*args.defaults, *args.kw_defaults])
        params = (*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg)
        self.stmts(p.annotation for p in params if p is not None)

    def v_Lambda(self, node: ast.Lambda) -> None:
        self.arguments(node.args)
        self.run_any([self.func(node)], maybe=True)

    def v_ClassDef(self, node: ast.ClassDef) -> None:
        self.stmts([*node.decorator_list, *node.bases, *node.keywords])
        outer = self.scope
        self.scope = inner = _Scope("class", *self.locals_of(node), outer)
        self.stmts(node.body)
        methods: tuple[_Func, ...] = ()
        if self.state is not None:
            for key in [k for k in self.state.funcs if k[0] is inner]:
                methods += self.state.funcs.pop(key)
        self.scope = outer
        self.bind(node.name, self.func(node, methods))

    def v_Return(self, node: ast.Return) -> None:
        self.visit(node.value)
        self.returns.append(self.state)
        self.state = None

    def v_Break(self, node: ast.AST, kind: int = 0) -> None:
        if self.loops:
            self.loops[-1][kind].append(self.state)
        self.state = None

    def v_Continue(self, node: ast.AST) -> None:
        self.v_Break(node, kind=1)

    def v_Raise(self, node: ast.Raise) -> None:
        self.generic(node)
        self.state = None

    def v_Assert(self, node: ast.Assert) -> None:
        self.visit(node.test)
        self.fork([node.msg], [])

    def v_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Lambda) and all(isinstance(t, ast.Name) for t in node.targets):
            self.arguments(node.value.args)  # `f = lambda: ...` is a def: its body runs when called
            fn = self.func(node.value)
            for target in node.targets:
                self.bind(target.id, fn)  # type: ignore[attr-defined]
            return
        self.stmts([node.value, *node.targets])

    def v_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Name):
            self.read(target.id)
            self.visit(node.value)
            self.bind(target.id)
        else:
            self.stmts([target, node.value])

    def v_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.value)
        if node.value is not None or not isinstance(node.target, ast.Name):
            self.visit(node.target)  # `x: int` alone binds nothing; `a.b: int` evaluates a
        if self.scope is None or self.scope.kind == "class":  # function annotations are not run
            self.visit(node.annotation)

    def v_If(self, node: ast.If | ast.IfExp) -> None:
        self.visit(node.test)
        self.fork(node.body if isinstance(node.body, list) else [node.body],
                  node.orelse if isinstance(node.orelse, list) else [node.orelse])

    v_IfExp = v_If

    def v_BoolOp(self, node: ast.BoolOp) -> None:
        self.visit(node.values[0])
        self.fork(node.values[1:], [])

    def v_Compare(self, node: ast.Compare) -> None:
        self.stmts([node.left, node.comparators[0]])
        self.fork(node.comparators[1:], [])

    def v_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values):
            self.stmts([key, value])

    def v_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.loop(node, node.target, None)

    v_AsyncFor = v_For

    def v_While(self, node: ast.While) -> None:
        self.loop(node, None, node.test)

    def loop(self, node: ast.For | ast.AsyncFor | ast.While, target: ast.expr | None,
             test: ast.expr | None) -> None:
        entry = head = self.state
        if entry is None:
            return
        while True:  # re-walk until the state at the loop head is stable
            self.state = head.copy()
            self.visit(test)
            at_exit = self.state.copy() if self.state is not None else None
            self.visit(target)
            self.loops.append(([], []))
            self.stmts(node.body)
            breaks, continues = self.loops.pop()
            new_head = _join(entry, self.state, *continues)
            if new_head == head:
                break
            head = new_head
        forever = isinstance(test, ast.Constant) and bool(test.value)
        self.state = None if forever else at_exit
        self.stmts(node.orelse)
        self.state = _join(self.state, *breaks)

    def v_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.stmts([item.context_expr, item.optional_vars])
        self.stmts(node.body)

    v_AsyncWith = v_With

    def v_Try(self, node: ast.Try) -> None:
        raised = self.state.copy()  # type: ignore[union-attr]
        raised.bound -= _scan(node.body)[3]  # an exception may come after any deletion
        self.stmts([*node.body, *node.orelse])
        exits = [self.state]
        for handler in node.handlers:
            self.state = raised.copy()
            self.visit(handler.type)
            if handler.name:
                self.bind(handler.name)
            self.stmts(handler.body)
            if handler.name:
                self.unbind(handler.name)
            exits.append(self.state)
        normal = self.state = _join(*exits)
        if node.finalbody:
            self.state = _join(normal, raised)  # reads in `finally`, on every path
            self.stmts(node.finalbody)
            self.state = normal  # bindings in `finally`, on the paths that go on after it
            self.stmts(node.finalbody)

    v_TryStar = v_Try

    def v_Match(self, node: ast.Match) -> None:
        self.visit(node.subject)
        start, exits = self.state, []
        for case in node.cases:
            self.state = start.copy() if start is not None else None
            self.pattern(case.pattern)
            self.visit(case.guard)
            self.stmts(case.body)
            exits.append(self.state)
        if not any(isinstance(c.pattern, ast.MatchAs) and c.pattern.pattern is None and c.guard is None
                   for c in node.cases):
            exits.append(start)  # no case matched
        self.state = _join(*exits)

    def pattern(self, node: ast.pattern) -> None:
        for child in ast.iter_child_nodes(node):
            self.pattern(child) if isinstance(child, ast.pattern) else self.visit(child)
        name = getattr(node, "name", None) or getattr(node, "rest", None)
        if name:
            self.bind(name)

    def v_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.bind(alias.asname or alias.name.split(".")[0])

    v_ImportFrom = v_Import

    def v_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.bind(node.target.id, skip_comp=True)  # type: ignore[attr-defined]

    def v_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        gens = node.generators
        self.visit(gens[0].iter)
        start, outer = self.state, self.scope
        self.state = start.copy() if start is not None else None
        self.scope = _Scope("comp", frozenset(_scan(g.target for g in gens)[0]), frozenset(), outer)
        for i, gen in enumerate(gens):
            self.stmts([gen.iter if i else None, gen.target, *gen.ifs])
        self.stmts(getattr(node, part, None) for part in ("key", "value", "elt"))
        self.scope = outer
        self.state = _join(start, self.state)  # it may run zero times

    v_SetComp = v_GeneratorExp = v_DictComp = v_ListComp

    def v_Call(self, node: ast.Call) -> None:
        if self.magic(node):
            return
        fns: tuple[_Func, ...] = ()
        if isinstance(node.func, ast.Name):
            fns = self.read(node.func.id, calling=True)
        else:
            self.visit(node.func)
        self.stmts([*node.args, *node.keywords])
        self.run_any(fns)

    def magic(self, node: ast.Call) -> bool:
        """Follow what TransformerManager made of `%magic` and `!cmd`: get_ipython().x('...')."""
        f = node.func
        if not (isinstance(f, ast.Attribute) and f.attr in ("run_line_magic", "system", "getoutput")
                and isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Name)
                and f.value.func.id == "get_ipython" and node.args
                and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)):
            return False
        *name, line = [a.value for a in node.args]  # type: ignore[attr-defined]
        if name == ["time"]:
            self.stmts(_parse(line))
        elif name == ["timeit"]:  # IPython runs the statement inside a timing function
            body = _parse(_TIMEIT_OPTIONS.sub("", line, count=1))
            outer = self.scope
            bound, glob, _, _ = _scan(body)
            self.scope = _Scope("func", frozenset(bound - glob), frozenset(glob), outer)
            self.stmts(body)
            self.scope = outer
        else:
            self.stmts(_expansions(line))
        return True
