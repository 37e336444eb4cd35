#!/usr/bin/python3
"""The docs say what the code does, checked by running it:

- docs/scenarios.md's complete example (the first ```yaml block under
  "## A complete example") passes against refagent: as written, with
  AGENT_URL pointing at a refagent started here, and with its `target:` line
  left out (the embedded refagent, as its comment says);
- the README's scenario example passes against the embedded refagent;
- docs/faults.md's table of a proxy hit's transcript fields is exactly what a
  fault scenario from scenarios/faults/ writes, and `text` has the documented
  shape; client faults carry the fields the doc says;
- the README's sentence on undefined variables quotes the real messages;
- docs/reports.md's rule for empty JUnit properties and the JSON `tags`
  ("empty when none") hold for a scenario without tags.

usage: docs_examples_test.py --agentrig AGENTRIG --refagent REFAGENT"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
failures = 0


def expect(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))
    return ok


def read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8") as f:
        return f.read()


def first_yaml_block(text, after=None):
    if after is not None:
        i = text.find(after)
        if i < 0:
            return None
        text = text[i:]
    m = re.search(r"^```yaml\n(.*?)^```", text, re.S | re.M)
    return m.group(1) if m else None


def start_refagent(refagent, *args):
    p = subprocess.Popen([refagent, "--port", "0", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    for _ in range(50):
        line = p.stdout.readline()
        if not line:
            break
        if line.startswith("listening "):
            return p, line.split(" ", 1)[1].strip()
    p.kill()
    sys.exit("FAIL: refagent did not report a listening URL")


class Runner:
    def __init__(self, agentrig, refagent, tmp):
        self.agentrig, self.refagent, self.tmp, self.n = agentrig, refagent, tmp, 0
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("AGENT_URL", "RUN", "NO_COLOR")}
        self.env["AGENTRIG_REFAGENT"] = refagent

    def run(self, name, yaml_text, *args):
        """Writes yaml_text to TMP/name.yaml, runs it; returns (rc, output, results dir)."""
        self.n += 1
        path = os.path.join(self.tmp, f"{name}.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(yaml_text)
        out = os.path.join(self.tmp, f"results-{self.n}-{name}")
        cmd = [self.agentrig, "run", "--refagent", self.refagent, "-o", out, *args, path]
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=240,
                           cwd=self.tmp)
        return p.returncode, p.stdout + p.stderr, out


def transcript_events(results):
    tdir = os.path.join(results, "transcripts")
    evs = []
    for fn in sorted(os.listdir(tdir)):
        with open(os.path.join(tdir, fn), encoding="utf-8") as f:
            evs += [json.loads(ln) for ln in f if ln.strip()]
    return evs


def check_scenarios_md(r, refagent):
    scn = first_yaml_block(read("docs/scenarios.md"), "## A complete example")
    if not expect("docs/scenarios.md: a ```yaml block under '## A complete example'", scn):
        return
    p, url = start_refagent(refagent)
    try:
        rc, out, _ = r.run("scenarios-md", scn, "--var", f"AGENT_URL={url}", "--var", "RUN=docs")
        expect("docs/scenarios.md's complete example passes against refagent (AGENT_URL, RUN set)",
               rc == 0, out)
    finally:
        p.kill()
        p.wait()
    # "omit to drive the embedded reference agent"
    no_target = "".join(ln for ln in scn.splitlines(True) if not ln.startswith("target:"))
    expect("docs/scenarios.md's complete example has a top-level target: line",
           no_target != scn)
    rc, out, _ = r.run("scenarios-md-embedded", no_target, "--var", "RUN=docs")
    expect("docs/scenarios.md's complete example without target: passes against the "
           "embedded refagent", rc == 0 and "embedded refagent" in out, out)


def check_readme_example(r):
    scn = first_yaml_block(read("README.md"))
    if not expect("README.md: a ```yaml scenario example", scn and "turns:" in scn, scn):
        return
    rc, out, _ = r.run("readme", scn)
    expect("README.md's scenario example passes against the embedded refagent",
           rc == 0 and "embedded refagent" in out, out)


def doc_table_fields(doc, intro):
    """The backquoted names in the first column of the table after `intro`."""
    i = doc.find(intro)
    if i < 0:
        return None
    fields, in_table = set(), False
    for ln in doc[i:].splitlines()[1:]:
        if ln.startswith("|"):
            in_table = True
            first = ln.split("|")[1]
            fields |= set(re.findall(r"`([a-z_]+)`", first))
        elif in_table:
            break
    return fields


def check_fault_fields(r):
    doc = read("docs/faults.md")
    fields = doc_table_fields(doc, "these are all of its fields")
    if not expect("docs/faults.md lists a proxy hit's transcript fields", fields, fields):
        return
    with open(os.path.join(REPO, "scenarios/faults/tool_timeout.yaml"), encoding="utf-8") as f:
        scn = f.read()
    rc, out, res = r.run("fault-tool-timeout", scn, "--refagent-arg=--think-ms=0")
    expect("scenarios/faults/tool_timeout.yaml runs (exit 0 or 1)", rc in (0, 1), out)
    evs = transcript_events(res)
    hits = [e for e in evs if e.get("kind") == "fault" and e.get("type") == "proxy"]
    if not expect("the transcript has fault events of type proxy", hits, out):
        return
    seen = set().union(*(set(e) for e in hits))
    expect("every field of a proxy hit in the transcript is in docs/faults.md's table",
           seen <= fields, f"undocumented: {sorted(seen - fields)}")
    expect("every field in docs/faults.md's table appears on some proxy hit",
           fields <= seen, f"documented but never written: {sorted(fields - seen)}")
    fired = [e for e in hits if e.get("status") == "error"]
    expect("a hit whose rule fired has status error and tool = the rule's name",
           fired and all(e.get("tool") for e in fired), hits)
    expect("a forwarded hit has status ok and no tool",
           all("tool" not in e for e in hits if e.get("status") == "ok"))
    expect("status is only ok or error", all(e.get("status") in ("ok", "error") for e in hits))
    actions = "respond|delay|hang|reset|truncate|malformed|throttle|forward"
    shape = re.compile(rf"^({actions}) [A-Z]+ \S+ -> \d+(: .+)? \(\d+\.\dms\)$")
    bad = [e["text"] for e in hits if not shape.match(e.get("text", ""))]
    expect("every hit's text is `ACTION METHOD PATH -> HTTP_STATUS[: DETAIL] (TOOKms)`",
           not bad, bad[:5])
    expect("the doc's two text examples have that shape too",
           all(shape.match(x) for x in ("delay POST /tools/pricing -> 0: delayed 1500ms (538.6ms)",
                                        "forward POST /v1/complete -> 200 (1.1ms)"))
           and "`delay POST /tools/pricing -> 0: delayed 1500ms (538.6ms)`" in doc)
    expect("wire_len is 0 on every hit, as documented", all(e.get("wire_len") == 0 for e in hits))

    # Client faults: "the same seq, turn, t_us, text and wire_len, without tool or status".
    with open(os.path.join(REPO, "scenarios/faults/slow_reader.yaml"), encoding="utf-8") as f:
        scn = f.read()
    rc, out, res = r.run("fault-slow-reader", scn, "--refagent-arg=--think-ms=0")
    cf = [e for e in transcript_events(res)
          if e.get("kind") == "fault" and e.get("type") == "client_fault"]
    want = {"seq", "turn", "kind", "t_us", "type", "text", "wire_len"}
    expect("a client fault's transcript event has exactly the documented fields",
           cf and all(set(e) == want for e in cf), cf or out)
    expect("docs/faults.md quotes a real client fault text",
           any(e["text"].startswith("slow_reader: stopped reading for ") for e in cf)
           and "`slow_reader: stopped reading for 1.50s`" in doc, cf)


def check_undefined_variable(r):
    readme = read("README.md")
    m = re.search(r"`file: target: undefined variable 'NAME'`", readme)
    expect("README quotes the message of an undefined variable in target:", m)
    expect("README no longer promises file:line:col for every undefined variable",
           "undefined variable: always `file:line:col`" not in readme)
    name = "AR_DOCS_SURELY_UNDEFINED"
    rc, out, _ = r.run("undef-target", f"name: undef\ntarget: ${{{name}}}\nturns:\n  - send: hi\n")
    expect("an undefined variable in target: is exit 2 with `file: target: undefined variable`",
           rc == 2 and f"undef-target.yaml: target: undefined variable '{name}'" in out,
           f"exit {rc}\n{out}")
    m = re.search(r"`send: file:line:col: undefined variable 'NAME'`", readme)
    expect("README quotes the message of an undefined variable in a turn", m)
    rc, out, res = r.run("undef-turn", f"name: undef turn\nturns:\n  - send: \"hi ${{{name}}}\"\n",
                         "--refagent-arg=--think-ms=0")
    with open(os.path.join(res, "junit.xml"), encoding="utf-8") as f:
        junit = f.read()
    expect("an undefined variable in a turn fails it with `send: file:line:col: undefined "
           "variable`", rc == 1 and re.search(
               rf"send: \S*undef-turn\.yaml:3:\d+: undefined variable '{name}'", junit),
           f"exit {rc}\n{out}\n{junit}")


def check_empty_properties(r):
    doc = read("docs/reports.md")
    expect("docs/reports.md says a property with no value is left out",
           "A property with no value (a scenario without tags) is left out." in doc)
    expect("docs/reports.md says the JSON tags is empty when none",
           "the scenario's tags (empty when none)" in doc)
    rc, out, res = r.run("untagged", "name: untagged\nturns:\n  - send: hi\n",
                         "--refagent-arg=--think-ms=0")
    expect("an untagged scenario passes", rc == 0, out)
    with open(os.path.join(res, "report.json"), encoding="utf-8") as f:
        rep = json.load(f)
    expect("report.json: an untagged session has \"tags\": []",
           rep["sessions"][0].get("tags") == [], rep["sessions"][0].get("tags"))
    props = {p.get("name"): p.get("value")
             for p in ET.parse(os.path.join(res, "junit.xml")).iter("property")}
    expect("junit.xml: an untagged scenario has no tags property (as docs/reports.md says)",
           "tags" not in props, props)
    expect("junit.xml: no property has an empty value", all(v for v in props.values()), props)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agentrig", required=True)
    ap.add_argument("--refagent", required=True)
    a = ap.parse_args()
    agentrig, refagent = os.path.abspath(a.agentrig), os.path.abspath(a.refagent)
    with tempfile.TemporaryDirectory(prefix="ar-docs-") as tmp:
        r = Runner(agentrig, refagent, tmp)
        check_scenarios_md(r, refagent)
        check_readme_example(r)
        check_fault_fields(r)
        check_undefined_variable(r)
        check_empty_properties(r)
    if failures:
        sys.exit(f"{failures} check(s) failed")
    print("all docs examples agree with the code")


if __name__ == "__main__":
    main()
