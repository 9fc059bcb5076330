"""Loads a `researcher export` JSON-lines file with Python's json and checks every record against
the field tables of docs/export.md: every documented field present, no undocumented one, each of
the documented type. Prints {"records": N, "by_run": {...}} on success; exits 1 with the first
problem otherwise.

usage: python3 check_export.py docs/export.md ideas.jsonl
"""
import json
import re
import sys

TABLES = {"field": "record", "seed field": "seed", "message field": "message", "call field": "call"}


def read_tables(doc_path):
    tables = {}
    current = None
    for line in open(doc_path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            current = None
            continue
        if cells[0] in TABLES:
            current = tables.setdefault(TABLES[cells[0]], {})
        elif current is not None and not set(cells[0]) <= set("-"):
            name = re.fullmatch(r"`([a-z_]+)`", cells[0])
            if not name:
                raise SystemExit(f"docs: bad field cell {cells[0]!r}")
            current[name.group(1)] = cells[1]
    return tables


def check(value, spec, tables, where):
    if spec.endswith(", or null"):
        if value is None:
            return
        spec = spec[: -len(", or null")]
    if spec.startswith("list of "):
        if not isinstance(value, list):
            raise SystemExit(f"{where}: expected a list, got {value!r:.80}")
        item = spec[len("list of "):].strip("()")
        for i, element in enumerate(value):
            check(element, item, tables, f"{where}[{i}]")
        return
    if spec.endswith(" or null"):
        if value is None:
            return
        spec = spec[: -len(" or null")]
    scalar = {"string": str, "number": float, "boolean": bool}
    if spec in scalar:
        if type(value) is not scalar[spec]:
            raise SystemExit(f"{where}: expected {spec}, got {type(value).__name__} {value!r:.80}")
    elif spec == "integer":
        if type(value) is not int:
            raise SystemExit(f"{where}: expected integer, got {type(value).__name__} {value!r:.80}")
    elif spec in tables:
        check_object(value, tables[spec], tables, where)
    else:
        raise SystemExit(f"docs: unknown type {spec!r} (at {where})")


def check_object(value, fields, tables, where):
    if not isinstance(value, dict):
        raise SystemExit(f"{where}: expected an object, got {value!r:.80}")
    missing = sorted(set(fields) - set(value))
    extra = sorted(set(value) - set(fields))
    if missing or extra:
        raise SystemExit(f"{where}: missing {missing}, undocumented {extra}")
    for name, spec in fields.items():
        check(value[name], spec, tables, f"{where}.{name}")


def main():
    doc_path, data_path = sys.argv[1:3]
    tables = read_tables(doc_path)
    if set(tables) != set(TABLES.values()):
        raise SystemExit(f"docs: expected tables {sorted(TABLES.values())}, found {sorted(tables)}")
    by_run = {}
    count = 0
    with open(data_path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            record = json.loads(line)
            check_object(record, tables["record"], tables, f"line {number}")
            by_run.setdefault(record["run"], []).append(record["idea"])
            count += 1
    print(json.dumps({"records": count, "by_run": by_run, "fields": sorted(tables["record"])}))


main()
