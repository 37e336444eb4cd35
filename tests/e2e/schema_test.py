#!/usr/bin/python3
"""The JSON Schemas of scenario and profile files (docs/schema/) are right
and current:

1. both are valid JSON Schema (draft 2020-12);
2. every scenario the repository ships or documents validates against
   scenario.schema.json: scenarios/**/*.yaml, tests/e2e/shared/*.yaml, the
   tests/e2e/cases/*.yaml that load (`# expect-exit:` 0 or 1) and the
   scenarios their `# paths:` name, tests/unit/data/scn/full.yaml (every
   key), and every
   ```yaml block in docs/*.md that is a whole scenario (`name:` and `turns:`);
3. every profile that loads validates against profile.schema.json:
   harness/protocol/builtin/*.yaml, tests/e2e/profiles/*.yaml (but the
   deliberately broken ones, which the schema must reject), and every whole
   profile (`name:` and `decode:`) in a ```yaml block of docs/*.md;
4. the schemas and the loaders agree key for key: each key table in the
   loaders (static const char *const NAME[] = {...} in harness/scenario/*.c,
   harness/protocol/profile_load.c, profile_cond.c, profile.c; the event kinds
   in harness/base/event.c) is parsed with a regex and compared with the
   schema object (or enum) it maps to, both ways. A new key in a loader
   without a schema entry fails, and so does a schema key no loader accepts,
   and so does a new key table this test does not know about.

Needs no build: usage: schema_test.py [REPO]"""
import glob
import json
import os
import re
import sys

import jsonschema
import yaml

REPO = (sys.argv[1] if len(sys.argv) > 1 else
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SCHEMA_DIR = os.path.join(REPO, "docs", "schema")
failures = 0


def expect(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))


def rel(p):
    return os.path.relpath(p, REPO)


def load_schema(name):
    with open(os.path.join(SCHEMA_DIR, name + ".schema.json"), encoding="utf-8") as f:
        return json.load(f)


SCHEMAS = {n: load_schema(n) for n in ("scenario", "profile")}
VALIDATORS = {}
for n, s in SCHEMAS.items():
    try:
        jsonschema.Draft202012Validator.check_schema(s)
        expect(f"{n}.schema.json is valid JSON Schema 2020-12", True)
    except jsonschema.SchemaError as e:
        expect(f"{n}.schema.json is valid JSON Schema 2020-12", False, e.message)
    VALIDATORS[n] = jsonschema.Draft202012Validator(s)


def errors_of(kind, doc):
    out = []
    for e in sorted(VALIDATORS[kind].iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in e.absolute_path)
        out.append(f"{where}: {e.message[:300]}")
    return out


def check_doc(kind, label, doc):
    errs = errors_of(kind, doc)
    expect(f"{kind}: {label}", not errs, "\n".join(errs[:8]))


def load_yaml_file(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


# --- 2. scenarios -----------------------------------------------------------
scenario_files = sorted(glob.glob(os.path.join(REPO, "scenarios", "**", "*.yaml"), recursive=True) +
                        glob.glob(os.path.join(REPO, "scenarios", "**", "*.yml"), recursive=True))
scenario_files += sorted(glob.glob(os.path.join(REPO, "tests", "e2e", "shared", "*.yaml")))
# docs/scenarios.md's "longer version that uses every key"
scenario_files.append(os.path.join(REPO, "tests", "unit", "data", "scn", "full.yaml"))
expect("there are scenarios to validate", len(scenario_files) >= 10, len(scenario_files))
for p in scenario_files:
    check_doc("scenario", rel(p), load_yaml_file(p))

n_cases = 0
checked_paths = set(scenario_files)
for p in sorted(glob.glob(os.path.join(REPO, "tests", "e2e", "cases", "*.yaml"))):
    with open(p, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^# expect-exit: *(\d+)", text, re.M)
    if not m or m.group(1) not in ("0", "1"):
        continue  # deliberately broken (2) or unreachable (3): not examples
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        expect(f"scenario: {rel(p)} parses", False, e)
        continue
    if doc is None:
        # only header comments: the case runs the scenarios named by `# paths:`
        pm = re.search(r"^# paths: *(.+)$", text, re.M)
        for q in (pm.group(1).split() if pm else []):
            full = os.path.join(REPO, q)
            for f in (sorted(glob.glob(os.path.join(full, "**", "*.y*ml"), recursive=True))
                      if os.path.isdir(full) else [full]):
                if f not in checked_paths:
                    checked_paths.add(f)
                    n_cases += 1
                    check_doc("scenario", f"{rel(f)} (run by {rel(p)})", load_yaml_file(f))
        continue
    n_cases += 1
    check_doc("scenario", rel(p), doc)
expect("e2e cases that load were validated", n_cases >= 20, n_cases)

# --- 3. profiles --------------------------------------------------------------
# Profiles in tests/e2e/profiles that the loader rejects on purpose; the
# schema must reject them too.
BROKEN_PROFILES = {"no_end.yaml": "decode has no 'end'"}
profile_files = sorted(glob.glob(os.path.join(REPO, "harness", "protocol", "builtin", "*.yaml")))
expect("the five built-in profiles are there", len(profile_files) >= 5, len(profile_files))
for p in profile_files + sorted(glob.glob(os.path.join(REPO, "tests", "e2e", "profiles", "*.yaml"))):
    doc = load_yaml_file(p)
    base = os.path.basename(p)
    if base in BROKEN_PROFILES and "/tests/e2e/profiles/" in p.replace(os.sep, "/"):
        expect(f"profile: {rel(p)} is rejected ({BROKEN_PROFILES[base]})", bool(errors_of("profile", doc)))
    else:
        check_doc("profile", rel(p), doc)

# --- docs' yaml blocks ------------------------------------------------------------
n_doc = {"scenario": 0, "profile": 0}
for md in sorted(glob.glob(os.path.join(REPO, "docs", "*.md"))):
    with open(md, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        if re.match(r"^\s*```yaml\s*$", lines[i]):
            start = i + 1
            j = start
            while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
                j += 1
            block = "\n".join(lines[start:j])
            i = j + 1
            try:
                doc = yaml.safe_load(block)
            except yaml.YAMLError:
                continue  # fragments with `...` and the like
            if not isinstance(doc, dict) or "name" not in doc:
                continue
            kind = "scenario" if "turns" in doc else "profile" if "decode" in doc else None
            if kind:
                n_doc[kind] += 1
                check_doc(kind, f"{rel(md)}:{start} (```yaml block)", doc)
            continue
        i += 1
expect("docs hold whole scenarios and profiles to validate",
       n_doc["scenario"] >= 1 and n_doc["profile"] >= 1, n_doc)

# --- 4. the loaders' key tables ---------------------------------------------------
ARRAY_RE = re.compile(r"static\s+const\s+char\s*\*\s*const\s+(\w+)\s*\[[^\]]*\]\s*=\s*\{(.*?)\};",
                      re.S)
EXPORTED_RE = re.compile(r"^const\s+char\s*\*\s*const\s+(\w+)\s*\[[^\]]*\]\s*=\s*\{(.*?)\};",
                         re.S | re.M)


def c_tables(path):
    """{id: [strings]} for every string array in a C file. An array name used
    twice in one file (function-local `keys`) is told apart by its first
    string: keys@threshold."""
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        src = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
    found = ARRAY_RE.findall(src) + EXPORTED_RE.findall(src)
    names = [n for n, _ in found]
    out = {}
    for name, body in found:
        vals = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
        key = name if names.count(name) == 1 else f"{name}@{vals[0]}"
        out[key] = vals
    return out


def at(schema, pointer):
    node = schema
    for part in pointer.strip("/").split("/"):
        if part:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def enum_of(node):
    if "enum" in node:
        return node["enum"]
    for alt in node.get("anyOf", []) + node.get("oneOf", []):
        if "enum" in alt:
            return alt["enum"]
    raise KeyError("no enum")


# What each key table is in the schemas: ("keys", schema, pointer to an
# object whose properties must be exactly the table), ("enum", schema,
# pointer to a node whose enum must be exactly it), or None with the reason
# it has no schema counterpart of its own.
S, P = "scenario", "profile"
MAP = {
    "harness/scenario/scenario.c": {
        "scn_keys": [("keys", S, "")],
        "turn_keys": [("keys", S, "/$defs/turn")],
        "send_keys": [("keys", S, "/$defs/sendObject")],
        "capture_keys": [("keys", S, "/$defs/capture")],
        "cap_from_names": [("enum", S, "/$defs/capture/properties/from")],
    },
    "harness/scenario/scenario_expect.c": {
        "order_mode_names": [("enum", S, "/$defs/events/properties/mode")],
        "route_mode_names": [("enum", S, "/$defs/routeObject/properties/mode")],
        "json_op_names": None,  # the operators of json_keys (all but path), checked there
        "context_fields": [("enum", S, "/$defs/contextField")],
        "expect_keys": [("keys", S, "/$defs/expect")],
        "events_keys": [("keys", S, "/$defs/events")],
        "count_keys": [("keys", S, "/$defs/countRange")],
        "route_keys": [("keys", S, "/$defs/routeObject")],
        "tools_keys": [("keys", S, "/$defs/tools")],
        "outcome_keys": [("keys", S, "/$defs/outcomeObject")],
        "resp_keys": [("keys", S, "/$defs/responseItem")],
        "json_keys": [("keys", S, "/$defs/responseJson")],
        "latency_keys": [("keys", S, "/$defs/latency")],
        "ctx_keys": [("keys", S, "/$defs/context")],
    },
    "harness/scenario/scenario_faults.c": {
        "named_faults": [("keys", S, "/$defs/fault")],
        "tool_fault_keys": [("keys", S, "/$defs/toolFault")],
        "agent_fault_keys": [("keys", S, "/$defs/agentFault")],
        "rule_keys": [("keys", S, "/$defs/rule")],
        "match_keys": [("keys", S, "/$defs/match")],
        "json_match_keys": [("keys", S, "/$defs/matchJson")],
        "header_match_keys": [("keys", S, "/$defs/matchHeader")],
        "toxic_keys": [("keys", S, "/$defs/toxic")],
        "toxic_types": [("enum", S, "/$defs/toxic/properties/type")],
        "proxy_keys": [("keys", S, "/properties/proxy")],
        "cf_keys": [("keys", S, "/$defs/clientFault")],
        "disconnect_keys": [("keys", S, "/$defs/disconnectAfter")],
        "directive_keys": [("keys", S, "/$defs/faultDirectiveObject")],
        "rules_file_keys": None,  # `agentrig proxy --rules` files, not scenarios
        "keys@times": None,  # the schedule keys, a subset of rule_keys
        "streams": [("enum", S, "/$defs/toxic/properties/stream")],
        # Toxiproxy attributes per toxic type; their union is toxicAttributes.
        "lat": "attrs", "tmo": "attrs", "sli": "attrs", "lim": "attrs", "bw": "attrs",
        "acts": None,  # the action keys, a subset of rule_keys
        "keys@threshold": [("keys", S, "/$defs/threshold/anyOf/1")],
        "keys@duration": [("keys", S, "/$defs/stage")],
    },
    "harness/scenario/scenario_http.c": {
        "step_keys": [("keys", S, "/$defs/httpStep")],
        "cap_keys": [("keys", S, "/$defs/httpCapture")],
        "cap_from": [("enum", S, "/$defs/httpCapture/properties/from")],
        "expect_keys": [("keys", S, "/$defs/httpExpect")],
        "json_keys": [("keys", S, "/$defs/httpJsonAssert")],
        "need": None,  # which capture key each `from` needs, a subset of cap_keys
    },
    "harness/protocol/profile_load.c": {
        "top_keys": [("keys", P, "")],
        "decode_keys": [("keys", P, "/$defs/decode")],
        "row_keys": [("keys", P, "/$defs/eventRow")],
        "ignore_keys": [("keys", P, "/$defs/ignoreEntry")],
        "unclassified_modes": [("enum", P, "/$defs/decode/properties/unclassified")],
        "end_keys": [("keys", P, "/$defs/endEntry")],
        "status_keys": [("keys", P, "/$defs/decode/properties/status")],
        "response_keys": [("keys", P, "/$defs/deltas")],
        "hs_keys": [("keys", P, "/$defs/handshakeStep")],
        "keepalive_keys": [("keys", P, "/properties/keepalive")],
        "sse_keys": [("keys", P, "/properties/sse")],
        "transports": [("enum", P, "/properties/transport")],
        "sts": [("enum", P, "/$defs/eventRow/properties/status")],
    },
    "harness/protocol/profile_cond.c": {
        "when_keys": [("keys", P, "/$defs/when")],
        "op_keys": None,  # the operators of when_keys, checked there
        "from_keys": [("keys", P, "/$defs/sourceObject")],
    },
    "harness/protocol/profile.c": {
        "ar_pf_field_names": [("keys", P, "/$defs/decode/properties/fields"),
                              ("enum", P, "/$defs/when/properties/field")],
    },
}
attrs_union = set()
for cfile, mapping in MAP.items():
    tables = c_tables(cfile)
    for tid in tables:
        expect(f"{cfile}: key table {tid} is known to the schema test", tid in mapping,
               "add it to MAP in tests/e2e/schema_test.py and its keys to docs/schema/")
    for tid, targets in mapping.items():
        if tid not in tables:
            expect(f"{cfile}: key table {tid} still exists", False,
                   "it was renamed or removed: update MAP in tests/e2e/schema_test.py")
            continue
        vals = set(tables[tid])
        if targets == "attrs":
            attrs_union |= vals
            continue
        for what, sch, ptr in targets or []:
            label = f"{cfile} {tid} == {sch}.schema.json#{ptr or '/'} {what}"
            try:
                node = at(SCHEMAS[sch], ptr)
                got = set(node["properties"]) if what == "keys" else set(enum_of(node))
            except (KeyError, IndexError, TypeError) as e:
                expect(label, False, f"no such place in the schema: {e}")
                continue
            expect(label, got == vals,
                   f"in the loader, not the schema: {sorted(vals - got)}; "
                   f"in the schema, not the loader: {sorted(got - vals)}")
got = set(at(SCHEMAS[S], "/$defs/toxicAttributes")["properties"])
expect("scenario_faults.c toxic attributes (lat, tmo, sli, lim, bw) == toxicAttributes", got == attrs_union,
       f"loader only: {sorted(attrs_union - got)}; schema only: {sorted(got - attrs_union)}")
got_flat = set(at(SCHEMAS[S], "/$defs/toxic")["properties"]) - {"type", "stream", "toxicity", "attributes", "name"}
expect("toxic's flat attributes == toxicAttributes", got_flat == attrs_union, sorted(got_flat ^ attrs_union))

# The event kinds (designated initializers; `sent` is internal, never parsed).
with open(os.path.join(REPO, "harness", "base", "event.c"), encoding="utf-8") as f:
    m = re.search(r"kind_names\[[^\]]*\]\s*=\s*\{(.*?)\};", f.read(), re.S)
kinds = set(re.findall(r'"([^"]+)"', m.group(1))) - {"sent"} if m else set()
expect("harness/base/event.c has event kinds", len(kinds) >= 8, kinds)
for sch in (S, P):
    got = set(at(SCHEMAS[sch], "/$defs/eventKind")["enum"])
    expect(f"event kinds == {sch}.schema.json#/$defs/eventKind", got == kinds, sorted(got ^ kinds))

# Every property anywhere in the schemas is covered by a mapped table (no
# schema-only object): walk all objects with additionalProperties: false.
mapped = {(sch, ptr) for mp in MAP.values() for t in mp.values() if isinstance(t, list)
          for what, sch, ptr in t if what == "keys"}
mapped |= {(S, "/$defs/toxicAttributes")}


def walk(node, ptr, sch):
    if isinstance(node, dict):
        if node.get("additionalProperties") is False and "properties" in node:
            expect(f"{sch}.schema.json#{ptr or '/'} is checked against a loader key table",
                   (sch, ptr) in mapped)
        for k, v in node.items():
            walk(v, f"{ptr}/{k.replace('~', '~0').replace('/', '~1')}", sch)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{ptr}/{i}", sch)


for sch in (S, P):
    walk(SCHEMAS[sch], "", sch)

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
