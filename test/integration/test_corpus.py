"""Payload corpus (test/corpus): for every <case>.sql / <case>.json pair, the
exact Kafka value dionysus publishes for the `_created` event of each row,
compared byte for byte with the expected JSON Lines file (README "Wire format",
value rendering table). See test/corpus/README.md."""
import difflib
import json
from pathlib import Path

import pytest

from conftest import sql, wait_drained, consume, header

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
TOPIC = "it_corpus_types"
SEPARATOR = "-- rows"
DEPENDENCIES = "-- dependencies:"

# Cases whose expected file (derived from the README's rules, i.e. Rails'
# as_json) differs from what dionysus publishes today. strict: a fix makes the
# test XPASS and fails the run, so the mark must then be removed.
# Known discrepancies: case -> reason (xfail, strict: a fix makes it fail
# until the entry is removed). None at the moment.
XFAIL = {}


def cases():
    return sorted(p.stem for p in CORPUS.glob("*.sql"))


def load_case(case):
    text = (CORPUS / f"{case}.sql").read_text(encoding="utf-8")
    lines = text.split("\n")
    seps = [i for i, l in enumerate(lines) if l.strip() == SEPARATOR]
    assert len(seps) == 1, f"{case}.sql: needs exactly one '{SEPARATOR}' line"
    ddl = "\n".join(lines[:seps[0]])
    rows = "\n".join(lines[seps[0] + 1:])
    expected = (CORPUS / f"{case}.json").read_bytes().split(b"\n")
    assert expected and expected[-1] == b"", f"{case}.json must end with a newline"
    dependencies = [t for l in lines[:seps[0]] if l.startswith(DEPENDENCIES)
                    for t in l[len(DEPENDENCIES):].split()]
    return ddl, rows, expected[:-1], dependencies


def test_corpus_is_complete():
    sqls = {p.stem for p in CORPUS.glob("*.sql")}
    jsons = {p.stem for p in CORPUS.glob("*.json")}
    assert sqls == jsons, f"unpaired corpus files: {sorted(sqls ^ jsons)}"
    assert sqls


@pytest.fixture(scope="module")
def corpus_topic(cluster):
    cluster.wait_worker(timeout=60)     # first test of a fresh cluster: worker may lag
    conn = cluster.connect()
    try:
        sql(conn, "SELECT dionysus.declare_topic('it_corpus', 'types')")
    finally:
        conn.close()
    return TOPIC


def _params():
    out = []
    for case in cases():
        marks = []
        if case in XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[case]))
        out.append(pytest.param(case, marks=marks, id=case))
    return out


def _readable_diff(expected, got):
    out = []
    for line in difflib.unified_diff([e.decode("utf-8", "backslashreplace") for e in expected],
                                     [g.decode("utf-8", "backslashreplace") for g in got],
                                     "expected", "got", lineterm="", n=0):
        out.append(line)
    # the first differing byte of each differing line
    for e, g in zip(expected, got):
        if e != g:
            i = next((k for k in range(min(len(e), len(g))) if e[k] != g[k]), min(len(e), len(g)))
            out.append(f"first difference at byte {i}: expected {e[max(0, i - 20):i + 40]!r}"
                       f" got {g[max(0, i - 20):i + 40]!r}")
    return "\n".join(out)


@pytest.mark.parametrize("case", _params())
def test_corpus_case(cluster, db, corpus_topic, case):
    ddl, rows, expected, dependencies = load_case(case)
    table = f"corpus_{case}"
    sql(db, ddl)
    # the .sql creates the table corpus_<case> (and its dependencies)
    assert sql(db, "SELECT to_regclass(%s) IS NOT NULL", (table,)) == [(True,)]
    sql(db, "SELECT dionysus.publish(%s, %s, dependencies => %s::regclass[])", (TOPIC, table, dependencies))
    sql(db, rows)
    wait_drained(db, timeout=60, topic=TOPIC)

    # each expected line names its model and id: key <ModelName>:<id>
    keys = []
    for line in expected:
        env = json.loads(line)["message"][0]
        keys.append(f"{env['model_name']}:{env['data'][0]['id']}".encode())
    model = json.loads(expected[0])["message"][0]["model_name"]
    assert len(set(keys)) == len(keys), f"{case}.json: duplicate ids"

    msgs = consume(cluster.bootstrap, TOPIC, len(expected), timeout=30)
    created = json.loads(expected[0])["message"][0]["event"]
    by_key = {}
    for m in msgs:
        # only the _created events (inserting dependencies adds _updated ones)
        if m.key is not None and m.key.startswith(model.encode() + b":") and header(m, "event") == created:
            by_key.setdefault(m.key, []).append(m)
    assert sorted(by_key) == sorted(keys), \
        f"keys: expected {sorted(keys)}, got {sorted(by_key)}"
    got = []
    for k in keys:
        values = {m.value for m in by_key[k]}      # at-least-once: duplicates are identical
        assert len(values) == 1, f"{k}: different values for one row: {values}"
        got.append(values.pop())
        assert {header(m, "event") for m in by_key[k]} == \
            {json.loads(expected[keys.index(k)])["message"][0]["event"]}
    assert got == expected, f"corpus case {case}: values differ\n" + _readable_diff(expected, got)
