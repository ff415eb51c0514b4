"""The server-side functions, one file each: `dispatch/<domain>/sql/<name>.sql`.

A status report and a dispatch are each one round trip because their rules run inside PostgreSQL. Their text
lives here, beside the domain it belongs to, not frozen in a migration: a change is a diff of one file.
Migrations create a function from its file (`create`), and every upgrade that reaches the head applies them
all again (`apply_all`, from `migrations/env.py`), so an edited file reaches every database at its next
`dispatch migrate`, as Flyway's repeatable migrations do. A test compares what the database holds with the
files (`installed`, `expected`).

A file holds one `CREATE OR REPLACE FUNCTION name(...)` whose body is quoted `$fn$ ... $fn$`. The status
sets are named in it as `{{ACTIVE_ASSIGNMENT}}` (any of `dispatch.statuses.SETS`) and written out here: each
set is defined once, from the enums.
"""

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sqlalchemy import Connection, text

from dispatch.statuses import SETS, sql_in

DOMAINS = ("incidents", "units", "matching", "audit")  # in the order they are applied (callers after callees)
_TOKEN = re.compile(r"\{\{([A-Z_]+)\}\}")
_HEAD = re.compile(r"CREATE OR REPLACE FUNCTION\s+(\w+)\s*\(", re.I)
_BODY = re.compile(r"\$fn\$(.*)\$fn\$", re.S)


class SqlFunctionError(Exception):
    """A function's file is malformed (no header, no `$fn$` body, an unknown status set)."""


@dataclass(frozen=True)
class SqlFunction:
    name: str
    path: str  # package-relative, for messages
    sql: str  # the statement, status sets written out

    @property
    def body(self) -> str:
        """What PostgreSQL keeps as the function's source (`pg_proc.prosrc`)."""
        found = _BODY.search(self.sql)
        if found is None:
            raise SqlFunctionError(f"{self.path}: the body must be quoted $fn$ ... $fn$")
        return found.group(1)


def render(source: str, path: str = "<sql>") -> str:
    def status_set(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in SETS:
            raise SqlFunctionError(f"{path}: no status set {name} (known: {', '.join(sorted(SETS))})")
        return sql_in(SETS[name])

    return _TOKEN.sub(status_set, source)


@cache
def functions() -> tuple[SqlFunction, ...]:
    """Every function's file, rendered, in the order of DOMAINS and then by name."""
    found = []
    for domain in DOMAINS:
        folder = resources.files("dispatch").joinpath(domain, "sql")
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            path = f"dispatch/{domain}/sql/{entry.name}"
            sql = render(entry.read_text(encoding="utf-8"), path)
            head = _HEAD.search(sql)
            if head is None or head.group(1) != entry.name.removesuffix(".sql"):
                raise SqlFunctionError(f"{path}: must hold CREATE OR REPLACE FUNCTION {entry.name[:-4]}(...)")
            found.append(SqlFunction(head.group(1), path, sql))
    return tuple(found)


def function(name: str) -> SqlFunction:
    for fn in functions():
        if fn.name == name:
            return fn
    raise SqlFunctionError(f"no file for the SQL function {name}")


def create(name: str) -> str:
    """The statement that (re)creates one function, for a migration's `op.execute`."""
    return function(name).sql


def apply_all(connection: Connection) -> None:
    """(Re)creates every function from its file. One whose arguments changed would stand beside the old one as
    an overload, and one whose result changed cannot be replaced: the old one is dropped first. What the file
    declares is read by creating it in the session's temporary schema."""
    for fn in functions():
        probe = _HEAD.sub(lambda m: f"CREATE OR REPLACE FUNCTION pg_temp.{m.group(1)}(", fn.sql, count=1)
        connection.execute(text(probe))
        wanted = _declared(connection, "pg_my_temp_schema()", fn.name)
        connection.execute(text(f"DROP FUNCTION pg_temp.{fn.name}({wanted[0][1]})"))
        for signature, args, result in _declared(
            connection, "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())", fn.name
        ):
            if (args, result) != wanted[0][1:]:
                connection.execute(text(f"DROP FUNCTION {signature}"))
        connection.execute(text(fn.sql))


def _declared(connection: Connection, namespace: str, name: str) -> list[tuple[str, str, str]]:
    """(signature, identity arguments, result) of each function of that name in the namespace."""
    rows = connection.execute(
        text(f"""
        SELECT p.oid::regprocedure::text, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid)
        FROM pg_proc p WHERE p.pronamespace = {namespace} AND p.proname = :name"""),
        {"name": name},
    )
    return [(r[0], r[1], r[2]) for r in rows]


def installed(connection: Connection) -> dict[str, str]:
    """name -> source, of every function the files name, as the database holds them."""
    rows = connection.execute(
        text("""
        SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname = ANY(:names)"""),
        {"names": [fn.name for fn in functions()]},
    )
    return {name: src for name, src in rows}
