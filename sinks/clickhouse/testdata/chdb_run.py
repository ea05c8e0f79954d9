"""Run SQL statements on chDB, the in-process ClickHouse engine of the
chdb-core package, for the schema test of current server versions.

Reads a JSON array of SQL strings on standard input and writes a JSON array
with one object per statement: {"data": rows} for a statement that returns
rows, {"data": []} for one that returns none, {"error": message} for one
that fails. Statements after a failure still run.
"""

import json
import sys
import tempfile

import chdb
from chdb import session


def main():
    statements = json.load(sys.stdin)
    results = []
    with tempfile.TemporaryDirectory() as path:
        sess = session.Session(path)
        for sql in statements:
            try:
                out = sess.query(sql, "JSONCompact").bytes()
            except Exception as exc:  # chdb raises its own error types
                results.append({"error": str(exc)})
                continue
            data = json.loads(out)["data"] if out.strip() else []
            results.append({"data": data})
        sess.close()
    json.dump({"version": chdb.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
