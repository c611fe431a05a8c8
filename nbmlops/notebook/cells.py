"""Which globals a notebook cell reads and binds, found by static analysis of its source.

`%%track` records as params the scalar globals a cell reads before defining them. Nothing runs:
a cell that is not plain Python goes through IPython's `TransformerManager`, then `ast.parse`; a
cell that does not parse (or nests too deeply) has no inputs or outputs: it fails when run.

The rule: walk the cell in evaluation order, keeping the globals *bound on every path* to here.
Reading a global outside that set makes it an input (inputs are in first-read order).

- Order: values before targets (`lr = lr * 2` reads lr); `n += 1` reads n; `(y := 3)` binds y;
  `x: int` binds nothing; `d["k"] = v`, `cfg.lr = v`, `del d["k"]` read d; `del x` unbinds x.
- Paths join by intersection: `if`/`else`; `match` cases plus the no-match path (unless a case is
  a bare `case _:`/`case name:` without guard); `a if c else b`; the right of `and`/`or`. After
  `try`, a name is bound only if body+`else` and every handler bind it; handlers start from what
  was bound before `try` minus what the body may delete; `finally` reads are checked on every
  path. `raise`/`return`/`break`/`continue` end their path, so `else: raise` weakens nothing.
  `with` bodies are assumed to run to the end (`contextlib.suppress` is not recognised).
- Loops may run zero times: what a `for`/`while` body binds does not count after it, except in
  `while True:`, left only by `break` (bound before every `break` counts). The `for` target is
  bound in the body, which is re-walked until the state at the loop head is stable.
- Scopes: comprehensions and generator expressions have their own (targets local, the first
  iterable read outside; walked where written, so what they bind is maybe-bound). In functions
  and lambdas, params and names bound in the body are local, `global` names global, enclosing
  functions' names closures. A class body runs at its definition; it binds class attributes,
  and a name it reads before binding it there is read from globals, as Python does.
- Functions defined in the cell: `def` (or `f = lambda ...`) binds f and reads decorators,
  defaults and annotations there. The body runs where f is *called* by name, after the arguments:
  its global reads are inputs if unbound at the call, and its `global` assignments bind there if
  made on every path of the body. Referenced otherwise (callback, stored, returned, `partial(f)`),
  f may run from there on: it is walked there and what it binds counts as maybe-bound; so is any
  other lambda where it is written. Using a class defined in the cell (calling, subclassing,
  passing it) may run all its methods. Recursion is followed once; decorators are assumed not to
  call what they decorate; functions from earlier cells are opaque.
- Binding: `import a.b` binds a, `import a.b as c` c, `from m import x` x (`*`: nothing known);
  `with e as f` and match captures bind; `except E as e` binds e, unbound after the handler.
- IPython: `%time stmt` is walked as cell code, `%timeit [options] stmt` as a function body;
  `{expr}` and `$name` in `!cmd` and other line magics are reads (IPython expands them from the
  namespace); `x?` reads nothing.
- `cell_inputs` leaves out builtins (and IPython's get_ipython, display) unless the cell binds the
  name; `scalar_params` keeps them, so a builtin name shadowed by a scalar global is a param.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Scalar = int | float | str | bool | None

_BUILTINS = frozenset(dir(builtins)) | {"get_ipython", "display"}
_HIDDEN = re.compile(r"_|__|___|_i{1,3}|_i?\d+|_[iod]h|In|Out|__\w+__")  # IPython history, dunders
_SCALAR_TYPES = (bool, int, float, str, type(None))
_SKIP = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
_COMPS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_NAMED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler, ast.MatchAs, ast.MatchStar,
          ast.MatchMapping)  # nodes whose `name` (`rest`) they bind
_PROMPT = re.compile(r"\s*In \[\d+\]: ")
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
    function), unless the cell may delete it and does not bind it again on every path.
    """
    return list(_analyze(source)[1])


def line_reads(line: str) -> list[str]:
    """Global names a magic's line reads through IPython's `{expr}` and `$name` expansion, in order.

    >>> line_reads("-e {experiment} --tag owner=$owner")
    ['experiment', 'owner']
    """
    names = [n.id for expr in _expansions(line) for n in ast.walk(expr)
             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return [n for n in dict.fromkeys(names) if n not in _BUILTINS]


def scalar_params(source: str, namespace: Mapping[str, object]) -> dict[str, Scalar]:
    """The cell's inputs whose value in `namespace` is an int, float, str, bool or None.

    The type must be exactly one of those (an enum or a 0-d array is not; a long string is);
    numpy scalars come back as Python values. Dunders, IPython's `_`, `_i3`, `In`, `Out`... and
    names missing from `namespace` are left out.

    >>> scalar_params("clf = SVC(C=C, kernel=kind)", {"C": 1.0, "kind": "rbf", "SVC": object})
    {'C': 1.0, 'kind': 'rbf'}
    """
    return scalars(_analyze(source)[0], namespace)


def scalars(names: Iterable[str], namespace: Mapping[str, object]) -> dict[str, Scalar]:
    """The given names whose value in `namespace` is a scalar param (the rules of scalar_params)."""
    numpy = sys.modules.get("numpy")  # numpy scalars exist only once numpy is imported
    params: dict[str, Scalar] = {}
    for name in names:
        value = namespace.get(name, params)  # `params`: a sentinel that is not a scalar
        if numpy is not None and isinstance(value, numpy.generic):
            value = value.item()
        if type(value) in _SCALAR_TYPES and not _HIDDEN.fullmatch(name):
            params[name] = value  # type: ignore[assignment]
    return params


@functools.lru_cache(maxsize=512)
def _analyze(source: str) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    """(inputs, outputs, globals bound on some path) of one cell."""
    flow = _Flow()
    try:
        flow.stmts(_parse_cell(source))
    except (SyntaxError, ValueError, RecursionError):  # ValueError: null bytes, Python 3.11
        return (), (), frozenset()
    final = flow.state.bound if flow.state is not None else set()
    outputs = tuple(n for n in flow.bound if n in final or n not in flow.deleted)
    return tuple(flow.inputs), outputs, frozenset(flow.bound)


def _parse_cell(source: str) -> list[ast.stmt]:
    """The cell as Python. IPython's transform is slow (~20 ms for 300 lines) and the only IPython
    syntax that is also valid Python is a pasted `In [1]: ` prompt, so plain Python skips it."""
    if not _PROMPT.match(source):
        try:
            return ast.parse(source).body
        except SyntaxError:
            pass
    from IPython.core.inputtransformer2 import TransformerManager  # heavy: import on first use

    return ast.parse(TransformerManager().transform_cell(source)).body


def _parse(code: str, mode: str = "exec") -> list[ast.AST]:
    """Code in a magic line; nothing if it does not parse (IPython then runs nothing)."""
    try:
        tree = ast.parse(code, mode=mode)
    except (SyntaxError, ValueError):
        return []
    return [tree.body] if mode == "eval" else tree.body  # type: ignore[attr-defined]


def _expansions(line: str) -> list[ast.AST]:
    """What IPython's var_expand evaluates in a magic line: `{expr}` and `$name`."""
    from IPython.utils.text import DollarFormatter

    try:
        fields = [f"{f}:{spec}" if spec else f for _, f, spec, _ in DollarFormatter().parse(line) if f]
    except ValueError:  # unbalanced braces: IPython leaves the line as it is
        return []
    return [expr for field in fields for expr in _parse(field, "eval")]


def _scan(nodes: Iterable[ast.AST]) -> tuple[set[str], set[str], set[str]]:
    """(bound, declared global, declared nonlocal) names of a scope's body, nested scopes aside."""
    bound: set[str] = set()
    declared: dict[type, set[str]] = {ast.Global: set(), ast.Nonlocal: set()}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared[type(node)].update(node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(a.asname or a.name.split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, _COMPS):  # only walrus targets leak out of a comprehension
            bound.update(n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
            continue
        elif isinstance(node, _NAMED):
            bound.update(n for n in (getattr(node, "name", None), getattr(node, "rest", None)) if n)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))
    return bound, declared[ast.Global], declared[ast.Nonlocal]


@dataclass(eq=False)
class _Scope:
    kind: str  # "func", "class" or "comp"
    local: frozenset[str]
    glob: frozenset[str]  # declared `global`
    parent: _Scope | None


@dataclass(eq=False)
class _Func:
    node: ast.AST  # FunctionDef, AsyncFunctionDef, Lambda or ClassDef
    scope: _Scope | None  # where it was defined, for closures
    methods: tuple[_Func, ...] | None = None  # for a class
    memo: tuple[_State, _State | None] | None = None  # (state at a call, state after it)


class _State:
    """Globals bound on every path to here, and the cell functions each name may be bound to."""

    def __init__(self, bound: Iterable[object] = (), funcs: Mapping | None = None) -> None:
        self.bound: set[object] = set(bound)  # global names, and (class scope, name)
        self.funcs: dict[tuple[_Scope | None, str], tuple[_Func, ...]] = dict(funcs or {})

    def copy(self) -> _State:
        return _State(self.bound, self.funcs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _State) and (self.bound, self.funcs) == (other.bound, other.funcs)


def _join(*states: _State | None) -> _State | None:
    """Where paths meet: bound if bound on every live path (None: a path that ended)."""
    live = [s for s in states if s is not None]
    if len(live) < 2:
        return live[0] if live else None
    funcs = dict(live[0].funcs)
    for state in live[1:]:
        for key, fns in state.funcs.items():
            if funcs.get(key) != fns:
                funcs[key] = tuple(dict.fromkeys(funcs.get(key, ()) + fns))
    return _State(set.intersection(*(s.bound for s in live)), funcs)


class _Flow:
    """One walk over a cell in evaluation order; `state` is None where no path goes on."""

    def __init__(self) -> None:
        self.state: _State | None = _State()
        self.scope: _Scope | None = None  # None: module level
        self.inputs: dict[str, None] = {}
        self.bound: dict[str, None] = {}  # globals bound on some path, in first-binding order
        self.deleted: set[str] = set()
        self.loops: list[tuple[list, list]] = []  # states at each (break, continue)
        self.returns: list[_State | None] = []
        self.tries: list[set[str]] = []  # globals unbound in each `try` body being walked
        self.active: set[_Func] = set()  # functions being walked: recursion is followed once
        self.made: dict[tuple[int, _Scope | None], _Func] = {}  # one _Func per def: loops settle
        self.dispatch: dict[type, Callable[[Any], None]] = {}

    def where(self, name: str) -> _Scope | None:
        """The scope a name is local to; None for a global."""
        scope, innermost = self.scope, True
        while scope is not None:
            if scope.kind != "class" or innermost:  # class attributes are invisible to nested scopes
                if name in scope.glob:
                    return None
                if name in scope.local:
                    return scope
            scope, innermost = scope.parent, False
        return None

    def read(self, name: str, calling: bool = False) -> tuple[_Func, ...]:
        if self.state is None:
            return ()
        where = self.where(name)
        if where is not None and where.kind == "class" and (where, name) not in self.state.bound:
            where = None  # not yet in the class namespace: Python looks it up in globals
        if where is None and name not in self.state.bound:
            self.inputs.setdefault(name)
        fns = self.state.funcs.get((where, name), ())
        if not calling:
            self.run_any(fns, maybe=True)  # the function escapes: it may run from here on
        return fns

    def bind(self, name: str, fn: _Func | None = None, unbind: bool = False) -> None:
        if self.state is not None:
            where = self.where(name)
            self.state.funcs.pop((where, name), None)
            if fn is not None:
                self.state.funcs[(where, name)] = (fn,)
            if where is not None and where.kind == "class":  # class bodies are flow-sensitive too
                getattr(self.state.bound, "discard" if unbind else "add")((where, name))
            if where is None and unbind:
                self.state.bound.discard(name)
                self.deleted.add(name)
                for unbound in self.tries:
                    unbound.add(name)
            elif where is None:
                self.state.bound.add(name)
                self.bound.setdefault(name)

    def func(self, node: ast.AST, methods: tuple[_Func, ...] | None = None) -> _Func:
        fn = self.made.setdefault((id(node), self.scope), _Func(node, self.scope))
        fn.methods = methods
        return fn

    def new_scope(self, kind: str, body: Iterable[ast.AST], params: Iterable[str] = ()) -> _Scope:
        bound, glob, nonlocal_ = _scan(body)
        return _Scope(kind, frozenset((bound | set(params)) - glob - nonlocal_), frozenset(glob), self.scope)

    def run_any(self, fns: tuple[_Func, ...], maybe: bool = False) -> None:
        if fns:
            start, exits = self.state, [self.state] if maybe else []
            for fn in fns:
                self.state = start.copy() if start is not None else None
                self.run(fn)
                exits.append(self.state)
            self.state = _join(*exits)

    def run(self, fn: _Func) -> None:
        if self.state is None or fn in self.active:
            return
        if fn.memo and fn.memo[0].bound <= self.state.bound and fn.memo[0].funcs == self.state.funcs:
            entry, after = fn.memo  # the same functions and more bound: no new reads, same effect
            self.state = after and _State((self.state.bound - entry.bound) | after.bound, after.funcs)
            return
        entry, saved = self.state.copy(), (self.scope, self.loops, self.returns)
        self.active.add(fn)
        self.loops, self.returns, node = [], [], fn.node
        if fn.methods is not None:
            self.run_any(fn.methods, maybe=True)
        else:
            body = [node.body] if isinstance(node, ast.Lambda) else node.body  # type: ignore[attr-defined]
            a = node.args  # type: ignore[attr-defined]
            params = (p.arg for p in (*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg) if p)
            self.scope = fn.scope
            self.scope = scope = self.new_scope("func", body, params)
            self.stmts(body)
            self.state = _join(self.state, *self.returns)
            if self.state is not None:  # the call's local functions die with it
                self.state.funcs = {k: v for k, v in self.state.funcs.items() if k[0] is not scope}
        self.scope, self.loops, self.returns = saved
        self.active.discard(fn)
        fn.memo = (entry, self.state and self.state.copy())

    def stmts(self, nodes: Iterable[ast.AST | None]) -> None:
        for node in nodes:
            if node is not None and self.state is not None:  # dead code reads and binds nothing
                kind = type(node)
                visit = self.dispatch.get(kind) or self.dispatch.setdefault(
                    kind, getattr(self, "v_" + kind.__name__, self.generic))
                visit(node)

    def generic(self, node: ast.AST) -> None:
        for field in node._fields:  # ast.iter_child_nodes, without its two generators
            child = getattr(node, field, None)
            if isinstance(child, list):
                self.stmts(c for c in child if isinstance(c, ast.AST) and not isinstance(c, _SKIP))
            elif isinstance(child, ast.AST) and not isinstance(child, _SKIP):
                self.stmts([child])

    def fork(self, *paths: Iterable[ast.AST | None]) -> None:
        """Walk alternative paths from the same state, then join them."""
        start, exits = self.state, []
        for path in paths:
            self.state = start.copy() if start is not None else None
            self.stmts(path)
            exits.append(self.state)
        self.state = _join(*exits)

    def v_Constant(self, node: ast.Constant) -> None:
        pass

    def v_Attribute(self, node: ast.Attribute) -> None:
        self.stmts([node.value])

    def v_BinOp(self, node: ast.BinOp) -> None:
        rights = []
        while isinstance(node, ast.BinOp):  # a long `a + b + ...` nests left: walk it flat
            rights.append(node.right)
            node = node.left  # type: ignore[assignment]
        self.stmts([node, *reversed(rights)])

    def v_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.read(node.id)
        else:
            self.bind(node.id, unbind=isinstance(node.ctx, ast.Del))

    def v_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stmts([*node.decorator_list, node.args, node.returns])
        self.bind(node.name, self.func(node))

    v_AsyncFunctionDef = v_FunctionDef

    def v_arguments(self, args: ast.arguments) -> None:  # defaults and annotations: at the def
        params = (*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg)
        self.stmts([*args.defaults, *args.kw_defaults, *(p.annotation for p in params if p)])

    def v_Lambda(self, node: ast.Lambda) -> None:
        self.stmts([node.args])
        self.run_any((self.func(node),), maybe=True)

    def v_ClassDef(self, node: ast.ClassDef) -> None:
        self.stmts([*node.decorator_list, *node.bases, *node.keywords])
        outer = self.scope
        self.scope = inner = self.new_scope("class", node.body)
        self.stmts(node.body)
        funcs = self.state.funcs if self.state is not None else {}
        methods = tuple(fn for key in [k for k in funcs if k[0] is inner] for fn in funcs.pop(key))
        self.scope = outer
        self.bind(node.name, self.func(node, methods))

    def v_Raise(self, node: ast.Raise | ast.Return | ast.Break | ast.Continue) -> None:
        """The path ends here; return, break and continue resume where they lead."""
        self.generic(node)
        kind = type(node).__name__
        if kind == "Return" or (kind in ("Break", "Continue") and self.loops):
            (self.returns if kind == "Return" else self.loops[-1][kind == "Continue"]).append(self.state)
        self.state = None

    v_Return = v_Break = v_Continue = v_Raise

    def v_Assert(self, node: ast.Assert) -> None:
        self.stmts([node.test])
        self.fork([node.msg], [])

    def v_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Lambda) and all(isinstance(t, ast.Name) for t in node.targets):
            self.stmts([node.value.args])  # `f = lambda: ...` is a def: its body runs when called
            for target in node.targets:
                self.bind(target.id, self.func(node.value))  # type: ignore[attr-defined]
        else:
            self.stmts([node.value, *node.targets])

    def v_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self.read(node.target.id)
            self.stmts([node.value, node.target])
        else:
            self.stmts([node.target, node.value])  # `d[k] += v` reads d and k, then v

    def v_AnnAssign(self, node: ast.AnnAssign) -> None:
        target = node.value is not None or not isinstance(node.target, ast.Name)  # `x: int`: no
        annotation = self.scope is None or self.scope.kind == "class"  # not run in functions
        self.stmts([node.value, node.target if target else None, node.annotation if annotation else None])

    def v_If(self, node: ast.If | ast.IfExp) -> None:
        self.stmts([node.test])
        self.fork(*(b if isinstance(b, list) else [b] for b in (node.body, node.orelse)))

    v_IfExp = v_If

    def v_BoolOp(self, node: ast.BoolOp) -> None:
        self.stmts(node.values[:1])
        self.fork(node.values[1:], [])

    def v_For(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        test = getattr(node, "test", None)
        self.stmts([getattr(node, "iter", None)])
        entry = head = self.state
        while entry is not None:  # re-walk until the state at the loop head is stable
            self.state = head.copy()  # type: ignore[union-attr]
            self.stmts([test])
            at_exit = self.state and self.state.copy()
            self.loops.append(([], []))
            self.stmts([getattr(node, "target", None), *node.body])
            breaks, continues = self.loops.pop()
            head, previous = _join(entry, self.state, *continues), head
            if head == previous:
                self.state = None if isinstance(test, ast.Constant) and test.value else at_exit
                self.stmts(node.orelse)
                self.state = _join(self.state, *breaks)
                return

    v_AsyncFor = v_While = v_For

    def v_With(self, node: ast.With | ast.AsyncWith) -> None:
        self.stmts([part for item in node.items for part in (item.context_expr, item.optional_vars)])
        self.stmts(node.body)

    v_AsyncWith = v_With

    def v_Try(self, node: ast.Try) -> None:
        raised = self.state.copy()  # type: ignore[union-attr]
        self.tries.append(set())
        self.stmts(node.body)
        raised.bound -= self.tries.pop()  # an exception may come after any deletion
        self.stmts(node.orelse)
        exits = [self.state]
        for handler in node.handlers:
            self.state = raised.copy()
            self.stmts([handler.type])
            self.bind(handler.name) if handler.name else None
            self.stmts(handler.body)
            self.bind(handler.name, unbind=True) if handler.name else None
            exits.append(self.state)
        normal = self.state = _join(*exits)
        if node.finalbody:
            self.state = _join(normal, raised)  # reads in `finally`, on every path
            self.stmts(node.finalbody)
            self.state = normal  # bindings in `finally`, on the paths that go on after it
            self.stmts(node.finalbody)

    v_TryStar = v_Try

    def v_Match(self, node: ast.Match) -> None:
        self.stmts([node.subject])
        catch_all = any(isinstance(c.pattern, ast.MatchAs) and not c.pattern.pattern and not c.guard
                        for c in node.cases)
        self.fork(*([c.pattern, c.guard, *c.body] for c in node.cases), *([] if catch_all else [[]]))

    def v_MatchAs(self, node: ast.MatchAs | ast.MatchStar | ast.MatchMapping) -> None:
        self.generic(node)
        for name in (getattr(node, "name", None), getattr(node, "rest", None)):
            self.bind(name) if name else None

    v_MatchStar = v_MatchMapping = v_MatchAs

    def v_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            self.bind(alias.asname or alias.name.split(".")[0]) if alias.name != "*" else None

    v_ImportFrom = v_Import

    def v_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.stmts([node.value, node.target])

    def v_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        gens = node.generators
        self.stmts([gens[0].iter])
        outer = self.scope
        targets = (n.id for g in gens for n in ast.walk(g.target)
                   if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load))
        self.scope = _Scope("comp", frozenset(targets), frozenset(), outer)
        self.fork([part for i, g in enumerate(gens) for part in (g.iter if i else None, g.target, *g.ifs)]
                  + [getattr(node, part, None) for part in ("key", "value", "elt")], [])  # may not run
        self.scope = outer

    v_SetComp = v_GeneratorExp = v_DictComp = v_ListComp

    def v_Call(self, node: ast.Call) -> None:
        f = node.func
        if (isinstance(f, ast.Attribute) and f.attr in ("run_line_magic", "system", "getoutput")
                and isinstance(f.value, ast.Call) and isinstance(f.value.func, ast.Name)
                and f.value.func.id == "get_ipython" and node.args
                and all(isinstance(a, ast.Constant) for a in node.args)):
            return self.magic(*[str(a.value) for a in node.args])  # type: ignore[attr-defined]
        fns: tuple[_Func, ...] = ()
        if isinstance(f, ast.Name):
            fns = self.read(f.id, calling=True)
        else:
            self.stmts([f])
        self.stmts([*node.args, *node.keywords])
        self.run_any(fns)

    def magic(self, *args: str) -> None:
        """Follow what TransformerManager made of `%magic line` and `!cmd`."""
        *name, line = args
        if name == ["time"]:
            self.stmts(_parse(line))
        elif name == ["timeit"]:  # IPython runs the statement inside a timing function
            body = _parse(_TIMEIT_OPTIONS.sub("", line, count=1))
            outer, self.scope = self.scope, self.new_scope("func", body)
            self.stmts(body)
            self.scope = outer
        else:
            self.stmts(_expansions(line))
