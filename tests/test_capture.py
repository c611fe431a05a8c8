"""Static analysis of a cell's globals: what `%%track` records as params, without running the cell."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from nbmlops.notebook import cells as capture
from nbmlops.notebook.cells import cell_inputs, cell_outputs, scalar_params


def inputs(source: str) -> list[str]:
    return cell_inputs(textwrap.dedent(source))


def outputs(source: str) -> list[str]:
    return cell_outputs(textwrap.dedent(source))


@pytest.fixture(scope="module")
def ipython_shell() -> Iterator[InteractiveShell]:
    """A real IPython shell with an in-memory history, as a notebook kernel runs cells."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    yield shell
    shell.cleanup()


# IPython syntax and unparsable cells

def test_ipython_syntax_is_transformed_before_parsing() -> None:
    cell = """
        %time model = fit(X, C)
        !ls {data_dir}/$split
        files = !ls
        lr?
        print(model, files)
        %timeit -n 10 -r 3 tmp = score(model, X_val)
        print(tmp)
    """
    assert inputs(cell) == ["fit", "X", "C", "data_dir", "split", "score", "X_val", "tmp"]
    assert outputs(cell) == ["model", "files"]  # `%timeit` binds in its own scope


def test_a_pasted_ipython_prompt_is_stripped() -> None:
    assert inputs("In [3]: y = x + 1\n") == ["x"]  # valid Python (an annotation) until transformed


@pytest.mark.parametrize("cell", ["x = (1,", "def f(:\n    pass", "%time x = (", "print('a\x00')", ""])
def test_a_cell_that_does_not_parse_has_no_inputs(cell: str) -> None:
    assert cell_inputs(cell) == []
    assert cell_outputs(cell) == []
    assert scalar_params(cell, {"x": 1}) == {}


def test_long_expressions_are_walked_and_too_deep_ones_give_nothing() -> None:
    assert cell_inputs("y = " + " + ".join(["x"] * 2000)) == ["x"]
    assert cell_inputs("y = " + "-" * 5000 + "x") == []  # RecursionError in ast.parse: not raised


# order of evaluation

def test_the_value_is_read_before_the_target_is_assigned() -> None:
    assert inputs("lr = lr * 2") == ["lr"]
    assert inputs("x = 1; y = x") == []
    assert inputs("a, b = b, a") == ["b", "a"]
    assert inputs("x = y = z") == ["z"]


def test_augmented_assignment_reads_its_target() -> None:
    assert inputs("n += 1") == ["n"]
    assert inputs("n = 0\nn += step") == ["step"]
    assert inputs("d[k] += v") == ["d", "k", "v"]


def test_walrus_assigns_and_a_bare_annotation_does_not() -> None:
    assert inputs("print((y := 3))\nz = y") == []
    assert inputs("x: int\nprint(x)") == ["x"]
    assert inputs("x: float = x0\nprint(x)") == ["x0"]


def test_attributes_and_subscripts_read_the_object_only() -> None:
    assert inputs("model.fit(X)") == ["model", "X"]
    assert inputs("cfg.lr") == ["cfg"]
    assert inputs('d["k"] = 1') == ["d"]
    assert outputs('d["k"] = 1\ncfg.lr = 0.1') == []
    assert inputs("del cache[key]") == ["cache", "key"]


# control flow

def test_a_name_assigned_in_only_one_branch_is_an_input() -> None:
    assert inputs("if c:\n    x = 1\nprint(x)") == ["c", "x"]
    assert inputs("if c:\n    x = 1\nelse:\n    x = 2\nprint(x)") == ["c"]
    assert inputs("if c:\n    x = 1\nelif d:\n    x = 2\nprint(x)") == ["c", "d", "x"]
    assert inputs("y = a if c else (x := b)\nprint(x)") == ["c", "a", "b", "x"]
    assert inputs("ok = flag and (x := 1)\nprint(x)") == ["flag", "x"]


def test_a_branch_that_raises_does_not_leave_the_name_unassigned() -> None:
    assert inputs("if c:\n    x = 1\nelse:\n    raise ValueError(c)\nprint(x)") == ["c"]


def test_try_assigns_only_what_the_body_and_every_handler_assign() -> None:
    cell = """
        try:
            x = load(path)
        except OSError:
            pass
        print(x)
    """
    assert inputs(cell) == ["load", "path", "x"]
    assert inputs(cell.replace("pass", "x = None")) == ["load", "path"]
    assert inputs(cell.replace("pass", "raise")) == ["load", "path"]
    assert inputs("try:\n    x = f()\nfinally:\n    print(x)") == ["f", "x"]  # finally runs on errors
    assert inputs("try:\n    x = f()\nfinally:\n    done = 1\nprint(x, done)") == ["f"]
    assert inputs("x = 1\ntry:\n    del x\n    x = f()\nexcept E:\n    print(x)") == ["f", "E", "x"]


def test_loop_bodies_may_not_run() -> None:
    assert inputs("for i in range(n):\n    last = i\nprint(last, i)") == ["n", "last", "i"]
    assert inputs("for row in rows:\n    total = row.value + bias") == ["rows", "bias"]
    assert inputs("while more():\n    x = 1\nprint(x)") == ["more", "x"]
    assert inputs("while True:\n    x = draw()\n    if x > cut:\n        break\nprint(x)") == ["draw", "cut"]
    assert inputs("while (line := f.readline()):\n    pass\nprint(line)") == ["f"]


def test_a_later_iteration_sees_what_an_earlier_one_deleted() -> None:
    assert inputs("y = 0\nfor x in xs:\n    print(y)\n    del y") == ["xs", "y"]


# scopes

def test_comprehension_variables_are_local() -> None:
    assert inputs("kept = [x for x in data if x > threshold]") == ["data", "threshold"]
    assert inputs("m = {k: v * w for k, v in d.items()}") == ["d", "w"]
    assert inputs("g = sum(a * b for a, b in zip(xs, ys))") == ["xs", "ys"]
    assert inputs("x = 5\nsq = [x * x for x in range(x)]") == []
    assert inputs("print([(z := w) for w in ws])\nprint(z)") == ["ws", "z"]  # maybe zero times


def test_lambda_parameters_are_local_and_free_names_are_read() -> None:
    assert inputs("rows.sort(key=lambda r: r[col] * scale)") == ["rows", "col", "scale"]
    assert inputs("f = lambda a, b=default: a + k") == ["default"]  # body runs when called
    assert inputs("f = lambda a: a + k\nk = 1\nf(2)") == []


def test_a_function_reads_its_globals_where_it_is_called() -> None:
    assert inputs("def f():\n    return lr\nlr = 0.1\nf()") == []
    assert inputs("def f():\n    return lr\nf()\nlr = 0.1") == ["lr"]
    assert inputs("def f():\n    return lr") == []  # never called
    assert inputs("def f(x, *args, y=1, **kw):\n    z = x\n    return z + y + offset\nf(1)") == ["offset"]
    assert inputs("def f(x=default, *, y: T = d2) -> R:\n    pass") == ["default", "d2", "T", "R"]


def test_a_function_called_inside_another_is_followed() -> None:
    cell = """
        def loss(p):
            return (p - target) ** 2
        def train(p):
            for _ in range(steps):
                p -= rate * loss(p)
            return p
        target = 3.0
        train(0.0)
    """
    assert inputs(cell) == ["steps", "rate"]


def test_global_assignments_count_at_the_call() -> None:
    assert inputs("def f():\n    global n\n    n = 1\nf()\nprint(n)") == []
    assert inputs("def f():\n    global n\n    n = 1\nprint(n)\nf()") == ["n"]
    assert inputs("def f():\n    global n\n    if c:\n        n = 1\nf()\nprint(n)") == ["c", "n"]
    assert inputs("def f():\n    global n\n    n = n + 1\nf()") == ["n"]
    assert outputs("def f():\n    global n\n    n = 1\nf()") == ["f", "n"]


def test_a_function_passed_along_may_run_from_there() -> None:
    cell = "def cb(x):\n    return x * gain\nresult = apply(data, cb)\ngain = 2"
    assert inputs(cell) == ["apply", "data", "gain"]
    assert inputs("def f():\n    return a\ng = f\nb = 1") == ["a"]


def test_functions_defined_in_either_branch_are_both_followed() -> None:
    assert inputs("if c:\n    def f(): return a\nelse:\n    def f(): return b\nf()") == ["c", "a", "b"]
    assert inputs("def f(): return a\ndef f(): return b\nf()") == ["b"]


def test_recursion_closures_and_nested_functions() -> None:
    assert inputs("def fib(n):\n    return fib(n - 1) + base if n else base\nfib(3)") == ["base"]
    cell = """
        def outer():
            k = 1
            def inner():
                nonlocal k
                k += 1
                return k * a
            return inner()
        outer()
    """
    assert inputs(cell) == ["a"]


def test_a_class_body_runs_at_once_and_its_methods_when_the_class_is_used() -> None:
    cell = """
        class Model(Base):
            depth = default_depth
            width = depth * 2
            def fit(self, X):
                return X * alpha
        alpha = 0.5
        m = Model()
    """
    assert inputs(cell) == ["Base", "default_depth"]
    used_first = textwrap.dedent(cell).replace("alpha = 0.5\nm = Model()", "m = Model()\nalpha = 0.5")
    assert inputs(used_first) == ["Base", "default_depth", "alpha"]
    assert inputs("class A:\n    x = 1\n    ys = [x for _ in r]") == ["r", "x"]  # as Python scopes it
    assert inputs("class Config:\n    lr = lr\n    decay = lr / 10") == ["lr"]


# bindings

def test_imports_bind_names() -> None:
    assert inputs("import numpy as np\nfrom sklearn.svm import SVC\nimport os.path\nSVC(np.e, os.sep)") == []
    assert outputs("import numpy as np\nfrom a.b import c as d\nimport os.path") == ["np", "d", "os"]
    assert inputs("from m import *\nprint(x)") == ["x"]


def test_del_unbinds() -> None:
    assert inputs("x = 1\ndel x\nprint(x)") == ["x"]
    assert outputs("tmp = f()\nresult = tmp * 2\ndel tmp") == ["result"]


def test_with_reads_the_context_and_binds_its_target() -> None:
    assert inputs("with open(path) as f:\n    text = f.read()\nprint(text)") == ["path"]


def test_except_as_binds_only_inside_the_handler() -> None:
    assert inputs("try:\n    run()\nexcept Exception as e:\n    log(e)\nprint(e)") == ["run", "log", "e"]
    assert outputs("try:\n    run()\nexcept Exception as e:\n    err = e") == ["err"]


def test_match_captures_bind() -> None:
    cell = """
        match command:
            case ["go", direction]:
                move(direction)
            case Point(x=px) if px > limit:
                print(px)
            case {"k": v, **rest}:
                print(v, rest)
            case _:
                pass
        print(direction)
    """
    assert inputs(cell) == ["command", "move", "Point", "limit", "direction"]
    assert inputs("match c:\n    case [a]:\n        b = a\n    case _:\n        b = 0\nprint(b)") == ["c"]
    assert inputs("match c:\n    case [a]:\n        b = a\nprint(b)") == ["c", "b"]  # nothing matched


# builtins

def test_builtins_are_not_inputs_unless_the_cell_binds_them() -> None:
    assert inputs("print(len(data), range(3), get_ipython())") == ["data"]
    assert inputs("len = 3\nprint(len)") == []
    assert inputs("if c:\n    max = 3\nprint(max)") == ["c", "max"]


def test_a_builtin_name_shadowed_by_a_scalar_global_is_a_param() -> None:
    assert scalar_params("clf = SVC(kernel=type, max_iter=max)", {"type": "rbf", "SVC": object}) == {
        "type": "rbf"}


# outputs

def test_outputs_are_the_names_bound_at_top_level() -> None:
    cell = """
        import pandas as pd
        def score(y, p):
            acc = (y == p).mean()
            return acc
        for epoch in range(3):
            loss = step()
        if verbose:
            report = make_report()
        accuracy = score(y_test, pred)
    """
    assert outputs(cell) == ["pd", "score", "epoch", "loss", "report", "accuracy"]


# caching

def test_results_are_cached_by_source_and_safe_to_mutate() -> None:
    cell = "clf = LogisticRegression(C=C_cached)\nclf.fit(X, y)"
    first = cell_inputs(cell)
    hits = capture._analyze.cache_info().hits
    first.append("junk")
    assert cell_inputs(cell) == ["LogisticRegression", "C_cached", "X", "y"]
    assert capture._analyze.cache_info().hits == hits + 1


# a realistic cell and the scalar params `%%track` records

TRAINING_CELL = """
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

clf = LogisticRegression(C=C, max_iter=max_iter, penalty=penalty, random_state=seed)
clf.fit(X_train, y_train)
pred = clf.predict(X_test)
acc = accuracy_score(y_test, pred)
wrong = [i for i, (t, p) in enumerate(zip(y_test, pred)) if t != p]
per_class = {c: (pred[y_test == c] == c).mean() for c in classes}
if verbose:
    print(f"{experiment}: C={C:.3g} acc={acc:.3f} ({len(wrong)} wrong)")
"""


def test_a_realistic_training_cell() -> None:
    assert cell_inputs(TRAINING_CELL) == [
        "C", "max_iter", "penalty", "seed", "X_train", "y_train", "X_test", "y_test", "classes",
        "verbose", "experiment"]
    assert cell_outputs(TRAINING_CELL) == [
        "LogisticRegression", "accuracy_score", "clf", "pred", "acc", "wrong", "per_class"]


def test_scalar_params_keep_scalars_and_convert_numpy_scalars() -> None:
    namespace: dict[str, object] = {
        "C": np.float64(0.5), "max_iter": np.int64(200), "penalty": "l2", "seed": None,
        "verbose": np.bool_(True), "experiment": np.str_("svm"), "X_train": np.zeros((2, 2)),
        "y_train": [0, 1], "X_test": np.array(3.0), "y_test": (1,), "classes": range(2)}
    params = scalar_params(TRAINING_CELL, namespace)
    assert params == {"C": 0.5, "max_iter": 200, "penalty": "l2", "seed": None, "verbose": True,
                      "experiment": "svm"}
    assert list(params) == ["C", "max_iter", "penalty", "seed", "verbose", "experiment"]
    assert [type(v) for v in params.values()] == [float, int, str, type(None), bool, str]


def test_scalar_params_leave_out_modules_functions_classes_and_missing_names() -> None:
    cell = "out = f(np, helper, Model, missing, big, nan, flag, when, cplx, count)"
    namespace = {"f": print, "np": np, "helper": lambda: 1, "Model": dict, "big": "x" * 100_000,
                 "nan": math.nan, "flag": False, "when": np.datetime64("2024-01-01"),
                 "cplx": np.complex128(1j), "count": 3}
    params = scalar_params(cell, namespace)
    assert list(params) == ["big", "nan", "flag", "count"]  # big strings are still strings
    assert math.isnan(params["nan"])  # type: ignore[arg-type]


def test_scalar_params_against_a_real_ipython_namespace(ipython_shell: InteractiveShell) -> None:
    ipython_shell.run_cell("C = 1.0\nmax_iter = 100\n_seed = 7\n", store_history=True)
    ipython_shell.run_cell("C * 2", store_history=True)  # sets _, __, _2, _i2, Out ...
    cell = "%time clf = fit(C, max_iter, _seed, _, __, ___, _i, _ii, _i1, _2, _ih, In, Out, __name__)"
    assert ipython_shell.run_cell("fit = lambda *a: a\n" + cell, store_history=True).success
    assert scalar_params(cell, ipython_shell.user_ns) == {"C": 1.0, "max_iter": 100, "_seed": 7}
