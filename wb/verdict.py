#!/usr/bin/env python3
"""Judge a guest run, and sum up results.

  verdict.py boot NAME DIR RESULTS   judge DIR/{console.log,tests.log,status}
  verdict.py guest NAME DIR RESULTS  the same without KUnit and kselftest results
                                     (a boot that runs other tests: the jemalloc
                                     client's; its status is their verdict)
  verdict.py add RESULTS STATUS NAME [DETAIL]   record one result
  verdict.py summary RESULTS...      print the failures and 'N passed, N failed, N skipped'

A results file has one line per test: PASS|FAIL|SKIP <tab> name <tab> detail.

A boot passes only when everything below holds, and each is its own result:
  - QEMU exited with status 33: the guest's init reached its end and reported
    success (a panic, a hang, a power-off or a crash gives anything else);
  - every KUnit case (KTAP on the console) and every kselftest (TAP on ttyS1)
    passed, and the kselftest plan was complete;
  - the guest's init found as many CPUs online as QEMU was given (its
    "init: testbed cpus=N want=M" line): a race test on one CPU tests nothing;
  - the console holds no kernel splat: WARNING, BUG, KASAN, KFENCE, lockdep,
    Oops, panic, RCU stall, hung task, soft lockup, UBSAN or kmemleak report.
"""

import os
import re
import sys

TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
SPLATS = [                    # the most specific first: one report, one name
    (r"KASAN:", "KASAN report"),
    (r"KFENCE:", "KFENCE report"),
    (r"possible circular locking|possible recursive locking|inconsistent lock state|"
     r"suspicious RCU usage|DEBUG_LOCKS_WARN_ON|lock held when returning|"
     r"possible irq lock inversion|bad unlock balance", "lockdep report"),
    (r"UBSAN:", "UBSAN report"),
    (r"unreferenced object 0x", "kmemleak report"),
    (r"list_add corruption|list_del corruption", "list corruption"),
    (r"Bad page (state|map)|bad pte", "bad page"),
    (r"rcu: INFO: .*detected stall|rcu_.*detected stalls|self-detected stall", "RCU stall"),
    (r"INFO: task .* blocked for more than", "hung task"),
    (r"soft lockup|hard LOCKUP", "lockup"),
    (r"Kernel panic", "panic"),
    (r"\bOops\b|general protection fault|Unable to handle kernel", "Oops"),
    (r"kernel BUG at", "BUG"),
    (r"\bBUG:", "BUG"),
    (r"WARNING:", "WARNING"),
]
SPLAT_RE = [(re.compile(p), what) for p, what in SPLATS]
TESTBED = re.compile(r"init: testbed cpus=(\d+) want=(\d+)")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def strip(line):
    return TS.sub("", line.rstrip("\r\n"))


def splats(console):
    """[(what, excerpt)] for each kernel splat in the console log."""
    lines = [strip(l) for l in console.splitlines()]
    found, last = [], -100
    for i, line in enumerate(lines):
        for rx, what in SPLAT_RE:
            if rx.search(line):
                if i > last + 40:         # one report, one entry
                    found.append((what, "\n".join(lines[max(0, i - 2):i + 25])))
                    last = i
                break
    return found


RES = re.compile(r"^(not ok|ok)\s+(\d+)\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$")


def parse_ktap(console):
    """KUnit results printed at boot: one result per test case."""
    res = []
    lines = [strip(l) for l in console.splitlines()]
    suite = None
    cases = 0
    for line in lines:
        ind = len(line) - len(line.lstrip(" "))
        body = line.strip()
        m = re.match(r"#\s*Subtest:\s*(\S+)", body)
        if m and ind == 4:
            suite, cases = m.group(1), 0
            continue
        m = RES.match(body)
        if not m:
            continue
        ok, name, directive = m.group(1) == "ok", m.group(3).strip(), (m.group(4) or "")
        if ind == 4 and suite:
            cases += 1
            res.append(result(ok, directive, "kunit:%s.%s" % (suite, name)))
        elif ind == 0 and suite:
            if cases == 0 or not ok and all(r[0] != "FAIL" for r in res if r[1].startswith("kunit:%s." % suite)):
                res.append(result(ok, directive, "kunit:%s" % name))
            suite = None
    return res


def result(ok, directive, name):
    if directive.upper().startswith("SKIP"):
        return ("SKIP", name, directive[4:].strip())
    if directive.upper().startswith("XFAIL"):
        return ("PASS", name, "xfail")
    return ("PASS" if ok else "FAIL", name, "" if ok else (directive or "failed"))


def parse_kselftest(tests):
    """TAP from run_kselftest.sh: one result per harness test; a program
    that failed without a failing subtest (crash, timeout) is a failure too."""
    res = []
    plan = None
    progs = 0
    sub = []
    for raw in tests.splitlines():
        line = raw.rstrip("\r\n")
        if re.match(r"^1\.\.(\d+)", line):
            plan = int(line[3:])
            continue
        m = re.match(r"^# (not ok|ok) (\d+) (.*)$", line)
        if m:
            ok = m.group(1) == "ok"
            rest = m.group(3)
            name, _, directive = rest.partition(" # ")
            sub.append(result(ok, directive, name.strip()))
            continue
        m = RES.match(line)
        if m and "selftests:" in line:
            progs += 1
            ok, directive = m.group(1) == "ok", (m.group(4) or "")
            prog = m.group(3).replace("selftests:", "").strip()
            prog = re.sub(r"\s*:\s*", "/", prog)
            for st, name, det in sub:
                res.append((st, "ksft:%s:%s" % (prog, name), det))
            if not ok and not any(st == "FAIL" for st, _, _ in sub):
                why = directive or "exited with failure"
                if "timeout" in line.lower() or "TIMEOUT" in directive:
                    why = "timed out"
                res.append(("FAIL", "ksft:%s" % prog, why))
            elif not sub:
                res.append(result(ok, directive, "ksft:%s" % prog))
            sub = []
    if plan is None:
        res.append(("FAIL", "ksft:plan", "no kselftest TAP plan: the tests never ran"))
    elif progs < plan:
        res.append(("FAIL", "ksft:plan", "plan of %d programs, %d reported: the run was cut short"
                    % (plan, progs)))
    return res


def judge_boot(name, d, tests=True):
    """The results of a boot: its KUnit and kselftest results (tests=False:
    a boot that runs other tests, judged by its status alone), then no
    splat, every CPU online, and the guest's own verdict."""
    console = read(os.path.join(d, "console.log"))
    status = read(os.path.join(d, "status")).strip()
    out = []
    found = parse_ktap(console) + parse_kselftest(read(os.path.join(d, "tests.log"))) if tests else []
    for st, t, det in found:
        out.append((st, "%s/%s" % (name, t), det))
    sp = splats(console)
    if sp:
        for what, excerpt in sp:
            out.append(("FAIL", "%s/console:no-splat" % name, "%s in the console:\n%s" % (what, excerpt)))
    else:
        out.append(("PASS", "%s/console:no-splat" % name, ""))
    m = TESTBED.search(console)
    if not m:
        out.append(("FAIL", "%s/guest:cpus-online" % name,
                    "no 'init: testbed' line: the guest never said how many CPUs it has"))
    elif int(m.group(1)) < int(m.group(2)):
        out.append(("FAIL", "%s/guest:cpus-online" % name,
                    "%s of %s CPUs online: the kernel did not find the others" % m.groups()))
    else:
        out.append(("PASS", "%s/guest:cpus-online" % name, ""))
    why = {
        "33": None,
        "35": "the guest reported failing tests",
        "124": "timed out: the guest hung or never finished",
        "137": "timed out and killed",
        "": "no status: the boot never ran",
    }
    if status in why:
        reason = why[status]
    else:
        reason = "QEMU exit status %s: the guest never reported (panic, crash or power-off)" % status
    if reason and status != "35":
        tail = "\n".join(strip(l) for l in console.splitlines()[-25:])
        reason += "\nlast console lines:\n" + tail
    out.append(("FAIL" if reason else "PASS", "%s/guest:finished" % name, reason or ""))
    return out


def write(path, rows):
    with open(path, "a") as f:
        for st, name, det in rows:
            f.write("%s\t%s\t%s\n" % (st, name, det.replace("\\", "\\\\").replace("\n", "\\n")))


def load(paths):
    rows = []
    for p in paths:
        for line in read(p).splitlines():
            parts = line.split("\t", 2)
            if len(parts) < 2:
                continue
            det = parts[2] if len(parts) > 2 else ""
            det = det.replace("\\n", "\n").replace("\\\\", "\\")
            rows.append((parts[0], parts[1], det))
    return rows


def summary(paths):
    rows = load(paths)
    n = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for st, name, det in rows:
        n[st] = n.get(st, 0) + 1
    for st, name, det in rows:
        if st == "SKIP":
            print("SKIP %s: %s" % (name, det.splitlines()[0] if det else ""))
    for st, name, det in rows:
        if st == "FAIL":
            print("FAIL %s" % name)
            for l in det.splitlines()[:40]:
                print("     " + l)
    line = "%d passed, %d failed" % (n["PASS"], n["FAIL"])
    if n["SKIP"]:
        line += ", %d skipped" % n["SKIP"]
    print(line)
    return 1 if n["FAIL"] or not rows else 0


def main():
    a = sys.argv[1:]
    if a and a[0] in ("boot", "guest") and len(a) == 4:
        rows = judge_boot(a[1], a[2], tests=a[0] == "boot")
        write(a[3], rows)
        bad = [r for r in rows if r[0] == "FAIL"]
        p = sum(1 for r in rows if r[0] == "PASS")
        print("    %s: %d passed, %d failed, %d skipped" % (a[1], p, len(bad),
              sum(1 for r in rows if r[0] == "SKIP")), file=sys.stderr)
        sys.exit(1 if bad else 0)
    elif a and a[0] == "add" and len(a) >= 4:
        write(a[1], [(a[2], a[3], a[4] if len(a) > 4 else "")])
    elif a and a[0] == "summary":
        sys.exit(summary(a[1:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
