"""SQLite storage: one table per object type (``o_<type id>``), all values TEXT, plus the live field catalog.

The field catalog (``_fields``/``_sections``/``_types``) starts as the meta snapshot and changes
through the field editor, so ``/objects/meta`` always reflects the database.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import catalog

NUM_RE = re.compile(r"^\s*-?[0-9]+(\.[0-9]+)?\s*$")


def q(name: str) -> str:
    """Quote an SQL identifier (names come from the catalog, never from raw user input)."""
    return '"' + name.replace('"', '""') + '"'


def is_num(value: Any) -> bool:
    return isinstance(value, str) and NUM_RE.match(value) is not None


def _ncmp(a: Any, b: Any) -> int | None:
    """Numeric-aware, case-insensitive comparison used by conditions and sorting."""
    if a is None or b is None:
        return None
    sa, sb = str(a), str(b)
    if NUM_RE.match(sa) and NUM_RE.match(sb):
        fa, fb = float(sa), float(sb)
        return (fa > fb) - (fa < fb)
    la, lb = sa.lower(), sb.lower()
    return (la > lb) - (la < lb)


def _isnum(a: Any) -> int:
    return 1 if a is not None and NUM_RE.match(str(a)) else 0


@dataclass
class FieldInfo:
    name: str
    alias: str
    type: str
    required: Any = "0"
    unique: Any = "0"
    editable: Any = "1"
    deletable: Any = "0"
    options: dict[str, str] | None = None
    parent_object: Any = None
    section_id: int = 1
    col: int = 0
    pos: int = 0
    field_id: int = 0

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "alias": self.alias,
            "type": self.type,
            "required": self.required,
            "unique": self.unique,
            "editable": self.editable,
            "deletable": self.deletable,
        }
        if self.options is not None:
            out["options"] = dict(self.options)
        if self.parent_object is not None:
            out["parent_object"] = self.parent_object
        return out


@dataclass
class TypeInfo:
    id: int
    name: str
    key: str
    fields: dict[str, FieldInfo]
    hidden: list[str]
    in_meta: bool = True
    columns: list[str] = field(default_factory=list)
    numeric: frozenset[str] = frozenset()
    text_columns: list[str] = field(default_factory=list)
    select_sql: str = ""
    _meta_cache: dict[str, Any] | None = None

    def finish(self) -> TypeInfo:
        self.columns = [self.key, *self.fields, *[h for h in self.hidden if h not in self.fields]]
        self.numeric = frozenset(
            {self.key, *(n for n, f in self.fields.items() if f.type in catalog.NUMERIC_TYPES)}
        )
        self.text_columns = [n for n, f in self.fields.items() if f.type in catalog.TEXT_TYPES]
        self.select_sql = "SELECT " + ", ".join(q(c) for c in self.columns) + f" FROM o_{self.id}"
        self._meta_cache = None
        return self

    @property
    def table(self) -> str:
        return f"o_{self.id}"

    def has(self, column: str) -> bool:
        return column == self.key or column in self.fields or column in self.hidden

    def column(self, name: str) -> str | None:
        """Map an API field name to a stored column (``id`` means the key column)."""
        if name == "id":
            return self.key
        return name if self.has(name) else None

    def meta(self) -> dict[str, Any]:
        if self._meta_cache is None:
            self._meta_cache = {
                "name": self.name,
                "fields": {n: f.meta() for n, f in self.fields.items()},
            }
        return self._meta_cache

    def field_type(self, name: str) -> str:
        if name == self.key:
            return "numeric"
        f = self.fields.get(name)
        return f.type if f else "text"


class Store:
    """One SQLite connection, used under a lock; every API request runs inside ``transaction()``."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.create_function("ncmp", 2, _ncmp, deterministic=True)
        self.conn.create_function("isnum", 1, _isnum, deterministic=True)
        self.conn.execute("PRAGMA foreign_keys=OFF")
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.lock = threading.RLock()
        self.types: dict[int, TypeInfo] = {}
        self._depth = 0
        # JSON text of records, per type; dropped on every write to that type and on rollback
        self._json: dict[int, dict[int, str]] = {}

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self.conn.execute("ROLLBACK")
                self._json.clear()
                if self.is_initialised():
                    self.load_types()  # DDL may have been rolled back
                raise
            else:
                self._depth = 0
                self.conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # ------------------------------------------------------------------ schema
    def is_initialised(self) -> bool:
        row = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='_types'"
        ).fetchone()
        return row is not None

    def create_schema(self, meta: dict[str, Any]) -> None:
        c = self.conn
        c.execute(
            "CREATE TABLE _types (type_id INTEGER PRIMARY KEY, name TEXT NOT NULL, pos INTEGER, in_meta INTEGER)"
        )
        c.execute(
            "CREATE TABLE _fields (type_id INTEGER, name TEXT, alias TEXT, type TEXT, required TEXT, uniq TEXT,"
            " editable TEXT, deletable TEXT, options TEXT, parent_object TEXT, section_id INTEGER, col INTEGER,"
            " pos INTEGER, field_id INTEGER, PRIMARY KEY (type_id, name))"
        )
        c.execute(
            "CREATE TABLE _sections (type_id INTEGER, section_id INTEGER, name TEXT, description TEXT,"
            " PRIMARY KEY (type_id, section_id))"
        )
        c.execute("CREATE TABLE _state (key TEXT PRIMARY KEY, value TEXT)")
        all_types: list[tuple[int, dict[str, Any], bool]] = [
            (int(k), v, True) for k, v in meta.items()
        ]
        for type_id, entry in catalog.BUILTIN_TYPES.items():
            all_types.append(
                (
                    type_id,
                    {
                        "name": entry["name"],
                        "fields": {
                            n: {
                                "required": "0",
                                "unique": "0",
                                "editable": "0",
                                "deletable": "0",
                                **f,
                            }
                            for n, f in entry["fields"].items()
                        },
                    },
                    False,
                )
            )
        field_id = 1
        max_fno = 0
        for pos, (type_id, entry, in_meta) in enumerate(all_types):
            c.execute(
                "INSERT INTO _types VALUES (?,?,?,?)", (type_id, entry["name"], pos, int(in_meta))
            )
            if type_id >= 10000:
                sections = [(1, f"{entry['name']} Information"), (2, "System Information")]
            else:
                sections = [(1, f"{entry['name']} Information"), (2, "Custom Fields")]
            for sid, sname in sections:
                c.execute("INSERT INTO _sections VALUES (?,?,?,?)", (type_id, sid, sname, None))
            for fpos, (fname, f) in enumerate(entry["fields"].items()):
                custom = re.fullmatch(r"f\d{4}", fname) is not None
                if custom:
                    max_fno = max(max_fno, int(fname[1:]))
                section = (1 if custom else 2) if type_id >= 10000 else (2 if custom else 1)
                c.execute(
                    "INSERT INTO _fields VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        type_id,
                        fname,
                        f.get("alias", ""),
                        f.get("type", "text"),
                        _j(f.get("required")),
                        _j(f.get("unique")),
                        _j(f.get("editable")),
                        _j(f.get("deletable")),
                        json.dumps(f["options"]) if "options" in f else None,
                        _j(f.get("parent_object")) if "parent_object" in f else None,
                        section,
                        0,
                        fpos,
                        field_id,
                    ),
                )
                field_id += 1
        self.state_set("next_field_no", str(max(max_fno, 1800) + 1))
        self.state_set("next_field_id", str(field_id))
        self.state_set("next_option_id", "20000")
        self.load_types()
        for ti in self.types.values():
            self._create_table(ti)

    def _create_table(self, ti: TypeInfo) -> None:
        cols = [f"{q(ti.key)} INTEGER PRIMARY KEY AUTOINCREMENT"]
        cols += [f"{q(cname)} TEXT" for cname in ti.columns[1:]]
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS {ti.table} ({', '.join(cols)})")
        for col in (
            "contact_id",
            "status",
            "dlm",
            "object_id",
            "tag_id",
            "item_id",
            "invoice_id",
            "order_id",
            "drip_id",
            "offer_id",
        ):
            if col in ti.columns:
                self.conn.execute(
                    f"CREATE INDEX IF NOT EXISTS ix_{ti.id}_{col} ON {ti.table} ({q(col)})"
                )
        if "email" in ti.columns:
            self.conn.execute(
                f"CREATE INDEX IF NOT EXISTS ix_{ti.id}_email ON {ti.table} (email COLLATE NOCASE)"
            )

    def load_types(self) -> None:
        self._json.clear()
        types: dict[int, TypeInfo] = {}
        rows = self.conn.execute(
            "SELECT type_id, name, in_meta FROM _types ORDER BY pos"
        ).fetchall()
        frows = self.conn.execute(
            "SELECT type_id, name, alias, type, required, uniq, editable, deletable, options, parent_object,"
            " section_id, col, pos, field_id FROM _fields ORDER BY type_id, pos"
        ).fetchall()
        by_type: dict[int, dict[str, FieldInfo]] = {}
        for r in frows:
            by_type.setdefault(r[0], {})[r[1]] = FieldInfo(
                name=r[1],
                alias=r[2],
                type=r[3],
                required=_u(r[4]),
                unique=_u(r[5]),
                editable=_u(r[6]),
                deletable=_u(r[7]),
                options=json.loads(r[8]) if r[8] is not None else None,
                parent_object=_u(r[9]) if r[9] is not None else None,
                section_id=r[10],
                col=r[11],
                pos=r[12],
                field_id=r[13],
            )
        for type_id, name, in_meta in rows:
            types[type_id] = TypeInfo(
                id=type_id,
                name=name,
                key=catalog.KEY_COLUMN.get(type_id, "id"),
                fields=by_type.get(type_id, {}),
                hidden=list(catalog.HIDDEN_COLUMNS.get(type_id, [])),
                in_meta=bool(in_meta),
            ).finish()
        self.types = types

    # ------------------------------------------------------------------ small state
    def state_get(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM _state WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def state_set(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO _state VALUES (?,?)", (key, value))

    def next_counter(self, key: str) -> int:
        value = int(self.state_get(key, "1") or "1")
        self.state_set(key, str(value + 1))
        return value

    # ------------------------------------------------------------------ records
    def _row(
        self, ti: TypeInfo, row: tuple[Any, ...], columns: list[str] | None = None
    ) -> dict[str, Any]:
        cols = columns or ti.columns
        rec = dict(zip(cols, row, strict=True))
        if ti.key in rec and rec[ti.key] is not None:
            rec[ti.key] = str(rec[ti.key])
        return rec

    def get(self, type_id: int, rid: int) -> dict[str, Any] | None:
        ti = self.types[type_id]
        row = self.conn.execute(f"{ti.select_sql} WHERE {q(ti.key)}=?", (rid,)).fetchone()
        return self._row(ti, row) if row else None

    def exists(self, type_id: int, rid: int) -> bool:
        ti = self.types[type_id]
        return (
            self.conn.execute(f"SELECT 1 FROM {ti.table} WHERE {q(ti.key)}=?", (rid,)).fetchone()
            is not None
        )

    def insert(self, type_id: int, values: dict[str, Any]) -> int:
        self._json.pop(type_id, None)
        ti = self.types[type_id]
        cols = [c for c in values if ti.has(c)]
        vals = [_s(values[c]) for c in cols]
        if cols:
            sql = f"INSERT INTO {ti.table} ({', '.join(q(c) for c in cols)}) VALUES ({', '.join('?' * len(cols))})"
        else:
            sql = f"INSERT INTO {ti.table} DEFAULT VALUES"
        cur = self.conn.execute(sql, vals)
        return int(cur.lastrowid or 0)

    def insert_many(self, type_id: int, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
        self._json.pop(type_id, None)
        ti = self.types[type_id]
        sql = f"INSERT INTO {ti.table} ({', '.join(q(c) for c in columns)}) VALUES ({', '.join('?' * len(columns))})"
        self.conn.executemany(sql, ([_s(v) for v in row] for row in rows))

    def update(self, type_id: int, rid: int, values: dict[str, Any]) -> None:
        self._json.pop(type_id, None)
        ti = self.types[type_id]
        cols = [c for c in values if ti.has(c) and c != ti.key]
        if not cols:
            return
        sql = f"UPDATE {ti.table} SET {', '.join(q(c) + '=?' for c in cols)} WHERE {q(ti.key)}=?"
        self.conn.execute(sql, [_s(values[c]) for c in cols] + [rid])

    def update_where(
        self, type_id: int, values: dict[str, Any], where: str, params: list[Any]
    ) -> None:
        self._json.pop(type_id, None)
        ti = self.types[type_id]
        cols = [c for c in values if ti.has(c)]
        sql = f"UPDATE {ti.table} SET {', '.join(q(c) + '=?' for c in cols)} WHERE {where}"
        self.conn.execute(sql, [_s(values[c]) for c in cols] + list(params))

    def delete(self, type_id: int, rids: Iterable[int]) -> int:
        self._json.pop(type_id, None)
        ti = self.types[type_id]
        ids = list(rids)
        n = 0
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cur = self.conn.execute(
                f"DELETE FROM {ti.table} WHERE {q(ti.key)} IN ({','.join('?' * len(chunk))})", chunk
            )
            n += cur.rowcount
        return n

    def delete_where(self, type_id: int, where: str, params: list[Any]) -> int:
        self._json.pop(type_id, None)
        ti = self.types[type_id]
        return self.conn.execute(f"DELETE FROM {ti.table} WHERE {where}", params).rowcount

    def select(
        self,
        type_id: int,
        where: str = "",
        params: list[Any] | tuple[Any, ...] = (),
        order: str = "",
        limit: int | None = None,
        offset: int = 0,
        columns: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        ti = self.types[type_id]
        if columns is None:
            sql = ti.select_sql
        else:
            sql = "SELECT " + ", ".join(q(c) for c in columns) + f" FROM {ti.table}"
        if where:
            sql += f" WHERE {where}"
        sql += f" ORDER BY {order}" if order else f" ORDER BY {q(ti.key)}"
        args = list(params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        rows = self.conn.execute(sql, args).fetchall()
        return [self._row(ti, r, columns) for r in rows]

    def select_json(
        self,
        type_id: int,
        where: str = "",
        params: list[Any] | tuple[Any, ...] = (),
        order: str = "",
        limit: int | None = None,
        offset: int = 0,
    ) -> str:
        """Like ``select`` (all columns) but returns the JSON array text, from a per-record cache."""
        ti = self.types[type_id]
        sql = f"SELECT {q(ti.key)} FROM {ti.table}" + (f" WHERE {where}" if where else "")
        sql += f" ORDER BY {order}" if order else f" ORDER BY {q(ti.key)}"
        args = list(params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        ids = [r[0] for r in self.conn.execute(sql, args).fetchall()]
        cache = self._json.setdefault(type_id, {})
        missing = [i for i in ids if i not in cache]
        if missing:
            for rec in self.select(
                type_id, f"{q(ti.key)} IN ({','.join('?' * len(missing))})", missing
            ):
                cache[int(rec[ti.key])] = json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
        return "[" + ",".join(cache[i] for i in ids) + "]"

    def select_ids(
        self, type_id: int, where: str = "", params: list[Any] | tuple[Any, ...] = ()
    ) -> list[int]:
        ti = self.types[type_id]
        sql = (
            f"SELECT {q(ti.key)} FROM {ti.table}"
            + (f" WHERE {where}" if where else "")
            + f" ORDER BY {q(ti.key)}"
        )
        return [r[0] for r in self.conn.execute(sql, list(params))]

    def count(self, type_id: int, where: str = "", params: list[Any] | tuple[Any, ...] = ()) -> int:
        ti = self.types[type_id]
        sql = f"SELECT COUNT(*) FROM {ti.table}" + (f" WHERE {where}" if where else "")
        return int(self.conn.execute(sql, list(params)).fetchone()[0])

    def scalar(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ field catalog changes
    def add_field(self, type_id: int, info: FieldInfo) -> None:
        self.conn.execute(
            "INSERT INTO _fields VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                type_id,
                info.name,
                info.alias,
                info.type,
                _j(info.required),
                _j(info.unique),
                _j(info.editable),
                _j(info.deletable),
                json.dumps(info.options) if info.options is not None else None,
                _j(info.parent_object) if info.parent_object is not None else None,
                info.section_id,
                info.col,
                info.pos,
                info.field_id,
            ),
        )
        ti = self.types[type_id]
        if info.name not in ti.columns:
            self.conn.execute(f"ALTER TABLE {ti.table} ADD COLUMN {q(info.name)} TEXT")
        self.load_types()

    def save_field(self, type_id: int, info: FieldInfo) -> None:
        self.conn.execute(
            "UPDATE _fields SET alias=?, type=?, required=?, uniq=?, options=?, section_id=?, col=? "
            "WHERE type_id=? AND name=?",
            (
                info.alias,
                info.type,
                _j(info.required),
                _j(info.unique),
                json.dumps(info.options) if info.options is not None else None,
                info.section_id,
                info.col,
                type_id,
                info.name,
            ),
        )
        self.load_types()

    def remove_field(self, type_id: int, name: str) -> None:
        ti = self.types[type_id]
        self.conn.execute("DELETE FROM _fields WHERE type_id=? AND name=?", (type_id, name))
        if name not in ti.hidden:
            for idx in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql LIKE ?",
                (ti.table, f'%"{name}"%'),
            ).fetchall():
                self.conn.execute(f"DROP INDEX {q(idx[0])}")
            self.conn.execute(f"ALTER TABLE {ti.table} DROP COLUMN {q(name)}")
        self.load_types()

    def sections(self, type_id: int) -> list[tuple[int, str, str | None]]:
        return [
            tuple(r)
            for r in self.conn.execute(  # type: ignore[misc]
                "SELECT section_id, name, description FROM _sections WHERE type_id=? ORDER BY section_id",
                (type_id,),
            )
        ]

    def add_section(self, type_id: int, name: str, description: str | None) -> int:
        sid = int(
            self.scalar(
                "SELECT COALESCE(MAX(section_id), 0) + 1 FROM _sections WHERE type_id=?", [type_id]
            )
        )
        self.conn.execute(
            "INSERT INTO _sections VALUES (?,?,?,?)", (type_id, sid, name, description)
        )
        return sid

    def set_section_description(self, type_id: int, sid: int, description: str | None) -> None:
        self.conn.execute(
            "UPDATE _sections SET description=? WHERE type_id=? AND section_id=?",
            (description, type_id, sid),
        )

    def remove_section(self, type_id: int, sid: int) -> None:
        self.conn.execute("DELETE FROM _sections WHERE type_id=? AND section_id=?", (type_id, sid))


def _j(value: Any) -> str | None:
    """Store a meta flag keeping its JSON type (``"1"``, ``1``, ``null``)."""
    return None if value is None else json.dumps(value)


def _u(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _s(value: Any) -> str | None:
    """Every stored value is TEXT (or NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value)
