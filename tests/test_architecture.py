"""The rules the package layout keeps (docs/architecture.md), checked on the source itself.

import-linter checks the layers (`make lint`); these check what it cannot: where catalog SQL is
written, and that no module reaches into another module's private names.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb

from nbmlops.store.folder import Store

PACKAGE = Path(__file__).resolve().parent.parent / "nbmlops"
# Modules outside store/ that use DuckDB on data files (Parquet parts, data diffs, a Parquet batch to
# monitor, a logged table), never on the catalog: code above the store names the catalog connection
# `store.backend.Connection`, not duckdb.
DATA_ENGINES = {"data/diff.py", "data/frames.py", "drift/service.py", "tracking/tables.py"}
# The condition language's SQL back end compiles `where` and `order_by` into the run search's
# statement: it is the one place outside store/ that spells catalog tables (docs/architecture.md).
SQL_BACK_END = "query/sql.py"


def _modules() -> dict[str, ast.Module]:
    return {str(path.relative_to(PACKAGE)): ast.parse(path.read_text(), str(path))
            for path in sorted(PACKAGE.rglob("*.py")) if "labextension" not in path.parts}


def _catalog_tables(tmp_path: Path) -> set[str]:
    store = Store(tmp_path / ".nbmlops")
    store.init()
    store.release()
    con = duckdb.connect(str(store.catalog_path), read_only=True)
    try:
        return {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def _strings(tree: ast.Module) -> list[tuple[int, str]]:
    """Every string literal of a module, f-strings with their holes as `{}`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            found.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)))
    return found


def test_catalog_sql_is_written_only_under_store(tmp_path: Path) -> None:
    tables = _catalog_tables(tmp_path)
    assert {"runs", "params", "latest_metrics", "artifacts"} <= tables
    sql = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
    offenders = []
    for name, tree in _modules().items():
        if name.startswith("store/") or name == SQL_BACK_END:
            continue
        for line, text in _strings(tree):
            named = {t for t in sql.findall(text) if t in tables}
            if named and re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\b", text, re.IGNORECASE):
                offenders.append(f"nbmlops/{name}:{line} ({', '.join(sorted(named))})")
    assert offenders == [], "catalog SQL outside nbmlops/store/ (give it a named function there):\n" + "\n".join(
        offenders)


def test_only_the_store_and_the_data_engines_import_duckdb() -> None:
    importers = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(m == "duckdb" or m.startswith("duckdb.") for m in modules):
                importers.append(name)
    outside = sorted({n for n in importers if not n.startswith("store/") and n not in DATA_ENGINES})
    assert outside == [], f"these modules import duckdb outside the store: {outside}"


def test_no_module_reaches_into_another_modules_private_names() -> None:
    modules = {name.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for name in _modules()}
    dotted = {f"nbmlops.{m}" for m in modules} | {"nbmlops"}
    reaches = []
    for name, tree in _modules().items():
        aliases: dict[str, str] = {}  # local name -> nbmlops module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nbmlops"):
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        reaches.append(f"nbmlops/{name}:{node.lineno} imports {node.module}.{a.name}")
                    if f"{node.module}.{a.name}" in dotted:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in dotted and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                reaches.append(f"nbmlops/{name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert reaches == [], "private names used across modules (give them a public home):\n" + "\n".join(reaches)
