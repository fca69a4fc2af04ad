"""sqlite3 cursors after close(): what CPython answers (tests/compat.rs compares the lines)."""

import gc
import sqlite3


def show(label, cur):
    out = []
    for name in ("lastrowid", "rowcount", "description"):
        try:
            out.append("%s=%r" % (name, getattr(cur, name)))
        except Exception as e:  # noqa: BLE001 - the probe prints what each interpreter raises
            out.append("%s raised %s: %s" % (name, type(e).__name__, e))
    print(label, " ".join(out))


con = sqlite3.connect(":memory:")
con.execute("create table t (id integer primary key, x text)")

cur = con.cursor()
cur.execute("insert into t (x) values ('a')")
cur.execute("insert into t (x) values ('b')")
show("open after insert:", cur)
cur.close()
show("closed after insert:", cur)
cur.close()
show("closed twice:", cur)
try:
    cur.execute("select 1")
except sqlite3.ProgrammingError as e:
    print("execute on closed:", e)

sel = con.execute("select id, x as label from t order by id")
print("rows:", sel.fetchall())
sel.close()
show("closed after select:", sel)

upd = con.cursor()
upd.execute("update t set x = 'c'")
upd.close()
show("closed after update:", upd)

# (A cursor that never ran a statement is left out: its lastrowid is None in CPython, -1 in
# RustPython, open or closed.)

# Many cursors closed and dropped: each keeps its own values, none another's.
kept = []
for i in range(200):
    c = con.cursor()
    c.execute("insert into t (x) values (?)", (str(i),))
    c.close()
    if i % 50 == 0:
        kept.append((i, c))
gc.collect()
print("kept:", [(i, c.lastrowid) for i, c in kept])


class Sub(sqlite3.Cursor):
    pass


sub = con.cursor(Sub)
sub.execute("insert into t (x) values ('sub')")
sub.close()
show("subclass closed:", sub)

# A row factory reads its cursor while the rows come (the docs' dict_factory).
def dict_factory(cursor, row):
    return {col[0]: row[i] for i, col in enumerate(cursor.description)} | {
        "rowcount": cursor.rowcount}


fac = con.cursor()
fac.row_factory = dict_factory
print("row factory:", fac.execute("select id, x from t order by id limit 2").fetchall())
fac.close()
show("row factory cursor closed:", fac)

# (`cur` is left out here: CPython sets rowcount to -1 when an execute fails, even on a
# closed cursor; RustPython keeps it.)
con.close()
show("connection closed:", upd)
