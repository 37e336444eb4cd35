#!/usr/bin/python3
"""The man page and the shell completions list what --help lists.

`agentrig --man` and `agentrig --completion bash|zsh` are generated from the
modes' option tables (runners/docgen.c); this compares them with each mode's
--help: every option --help lists, for every mode, is in that mode's man
section, in its bash completion and in its zsh completion; the bash script
loads (bash -n) and completes `agentrig ru` -> run and `agentrig run --ta` ->
--target --tag. With BUILD_DIR, the generated build/agentrig.1 (what is
installed) must be what --man prints.

usage: docgen_test.py AGENTRIG [BUILD_DIR]"""
import os
import re
import subprocess
import sys
import tempfile

AGENTRIG = sys.argv[1]
BUILD = sys.argv[2] if len(sys.argv) > 2 else None
failures = 0


def expect(what, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        if detail:
            print("     " + str(detail).replace("\n", "\n     "))


def run(*args):
    r = subprocess.run([AGENTRIG, *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def modes():
    """The commands the top-level help lists that take options."""
    _, out, _ = run("help")
    block = out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    names = re.findall(r"^  ([a-z]+)\b", block, re.M)
    return [n for n in names if n not in ("version", "help")]


def help_options(mode):
    rc, out, err = run(mode, "--help")
    assert rc == 0, (mode, rc, err)
    block = out.split("options:\n", 1)[1]
    return re.findall(r"^  (?:-\w, |    )--([a-z0-9][a-z0-9-]*)", block, re.M)


def unroff(s):
    return s.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


MODES = modes()
expect("the top-level help lists run, chaos, proxy, bench, validate and list",
       set(MODES) >= {"run", "chaos", "proxy", "bench", "validate", "list"}, MODES)
OPTS = {m: help_options(m) for m in MODES}
expect("every mode's --help lists options", all(len(o) >= 2 for o in OPTS.values()), OPTS)

# ---- the man page --------------------------------------------------------
rc, man, err = run("--man")
expect("agentrig --man exits 0 and prints roff (.TH)", rc == 0 and man.startswith(".\\\"")
       and "\n.TH AGENTRIG 1 " in man, err)
sections = {}
for chunk in re.split(r"^\.SH ", man, flags=re.M)[1:]:
    title, _, body = chunk.partition("\n")
    sections[title.strip('"')] = unroff(body)
for m in MODES:
    body = sections.get(f"AGENTRIG {m}")
    expect(f"man: a section for agentrig {m}", body is not None, list(sections))
    if body is None:
        continue
    in_man = set(re.findall(r"^\\fB--([a-z0-9-]+)\\fR|\\fR, \\fB--([a-z0-9-]+)", body, re.M))
    in_man = {a or b for a, b in in_man}
    missing = [o for o in OPTS[m] if o not in in_man]
    extra = sorted(in_man - set(OPTS[m]))
    expect(f"man: agentrig {m} lists every --help option ({len(OPTS[m])}) and no other",
           not missing and not extra, f"missing {missing}, extra {extra}")
    usage_line = run(m, "--help")[1].splitlines()[0]
    expect(f"man: agentrig {m} has its usage line", usage_line in body, usage_line)
for title in ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT"]:
    expect(f"man: a {title} section", title in sections)
if BUILD:
    path = os.path.join(BUILD, "agentrig.1")
    ok = os.path.isfile(path) and open(path).read() == man
    expect("the build's agentrig.1 (what is installed) is what --man prints", ok)
r = subprocess.run(["sh", "-c", 'command -v groff >/dev/null || exit 77; '
                    'groff -man -Tutf8 -ww -z 2>&1 >/dev/null'], input=man,
                   capture_output=True, text=True, timeout=60)
if r.returncode != 77:
    expect("groff -man renders the page without warnings", r.returncode == 0 and
           not r.stdout.strip(), r.stdout + r.stderr)

# ---- bash ---------------------------------------------------------------
rc, bash_src, err = run("--completion", "bash")
expect("agentrig --completion bash exits 0", rc == 0, err)
with tempfile.TemporaryDirectory() as tmp:
    script = os.path.join(tmp, "agentrig.bash")
    with open(script, "w") as f:
        f.write(bash_src)
    r = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
    expect("the bash completion passes bash -n", r.returncode == 0, r.stderr)

    def complete(*words):
        """COMPREPLY for the command line `words`, the last being completed."""
        code = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); '
                'COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _agentrig; '
                'printf "%s\\n" "${COMPREPLY[@]}"')
        r = subprocess.run(["bash", "-c", code, "bash", script, *words], cwd=tmp,
                           capture_output=True, text=True, timeout=30)
        return sorted(x for x in r.stdout.splitlines() if x), r.stderr

    got, err = complete("agentrig", "ru")
    expect("bash: agentrig ru -> run", got == ["run"], (got, err))
    got, err = complete("agentrig", "run", "--ta")
    expect("bash: agentrig run --ta -> --target --tag", got == ["--tag", "--target"], (got, err))
    got, err = complete("agentrig", "")
    expect("bash: agentrig <TAB> lists every command", set(got) >= set(MODES) | {"version"},
           (got, err))
    for m in MODES:
        got, err = complete("agentrig", m, "--")
        missing = [o for o in OPTS[m] if "--" + o not in got]
        extra = sorted(set(got) - {"--" + o for o in OPTS[m]})
        expect(f"bash: agentrig {m} -- completes every --help option and no other",
               not missing and not extra, f"missing {missing}, extra {extra}, {err}")
    os.mkdir(os.path.join(tmp, "resdir"))
    got, err = complete("agentrig", "run", "--results", "res")
    expect("bash: an option's value completes file names", got == ["resdir"], (got, err))

# ---- zsh ----------------------------------------------------------------
rc, zsh_src, err = run("--completion", "zsh")
expect("agentrig --completion zsh exits 0 and starts with #compdef agentrig",
       rc == 0 and zsh_src.startswith("#compdef agentrig\n"), err)
for m in MODES:
    part = zsh_src.split(f"\n    {m})\n", 1)
    body = part[1].split(";;", 1)[0] if len(part) == 2 else ""
    in_zsh = set(re.findall(r"'\*--([a-z0-9-]+)[=\[]", body))
    missing = [o for o in OPTS[m] if o not in in_zsh]
    extra = sorted(in_zsh - set(OPTS[m]))
    expect(f"zsh: agentrig {m} completes every --help option and no other",
           body and not missing and not extra, f"missing {missing}, extra {extra}")
for m in MODES + ["version"]:
    expect(f"zsh: the command {m} is offered", f"\n        '{m}:" in zsh_src)
r = subprocess.run(["sh", "-c", "command -v zsh >/dev/null || exit 77; zsh -n"],
                   input=zsh_src, capture_output=True, text=True, timeout=30)
if r.returncode != 77:
    expect("the zsh completion passes zsh -n", r.returncode == 0, r.stderr)
else:
    print("skip zsh -n: zsh is not installed")

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
