#!/usr/bin/env python3
"""Assemble the vrange series into a git kernel tree, and save it back.

The repo holds the series in two places:
  linux/            files the series adds, at their in-tree paths
  patches/series    the commits, in order (quilt format: one patch name a line)
  patches/*.patch   one commit each: mail headers, message, '---', the diff of
                    the files it edits that already exist in the kernel.
                    "X-Vrange-Adds:" names the files of linux/ that the commit
                    adds; that header is the manifest of the exported series.

build/linux is a git repo: the pristine base (tag vrange-base) and one commit
per entry of the series on branch vrange.

  tree    (re)build build/linux from the repo; touches only files that change
  save    write build/linux (its commits and its uncommitted edits) back to
          linux/ and patches/, then re-sync build/linux's history
  export  out/series/: git format-patch --cover-letter --base of the series
  amcheck the exported patches apply onto the base and give the series' tree

An uncommitted edit in build/linux belongs to the last commit of the series
that touched the file, or, if none did, to the last commit (SAVE_TO=N: to
commit N).
"""

import email.utils
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
SRC = os.path.join(BUILD, "linux")
LINUX = os.path.join(TOP, "linux")
PATCHES = os.path.join(TOP, "patches")
BRANCH = "vrange"
BASE_TAG = "vrange-base"
ADDS = "X-Vrange-Adds"
BASE_DATE = "1704067200 +0000"


def log(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


def die(msg):
    print("ERROR: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def git(*args, cwd=SRC, env=None, input=None, check=True, text=True, strip=True):
    e = dict(os.environ)
    if env:
        e.update(env)
    r = subprocess.run(["git"] + list(args), cwd=cwd, env=e, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text)
    if check and r.returncode != 0:
        err = r.stderr if text else r.stderr.decode(errors="replace")
        die("git %s: %s" % (" ".join(args[:3]), err.strip()))
    if not text:
        return r.stdout
    # A diff may begin with a space (its stat) and end with a context line
    # that is a lone space: strip=False keeps it whole.
    return r.stdout.strip() if strip else r.stdout.rstrip("\n")


# ---------------------------------------------------------------- base

def base_version():
    with open(os.path.join(TOP, "base-version")) as f:
        return f.read().strip()


def installed_version():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "linux-source-6.12"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return r.stdout.strip()


def ensure_base():
    """build/linux with the pristine base committed and tagged."""
    ver = installed_version()
    if not ver:
        die("linux-source-6.12 is not installed (run wb/deps.sh)")
    stamp = os.path.join(SRC, ".git", "vrange-base-version")
    if os.path.exists(stamp) and open(stamp).read().strip() == ver:
        return
    if ver != base_version():
        log("WARNING: base is linux-source-6.12 %s, not %s (base-version)" % (ver, base_version()))
    log("extracting linux-source-6.12 %s into build/linux (once)" % ver)
    if os.path.exists(SRC):
        shutil.rmtree(SRC)
    os.makedirs(SRC)
    subprocess.run(["tar", "-xf", "/usr/src/linux-source-6.12.tar.xz", "-C", SRC,
                    "--strip-components=1"], check=True)
    drop_debian_ignore()
    git("init", "-q", "-b", BRANCH)
    git("config", "core.autocrlf", "false")
    git("config", "gc.auto", "0")
    git("add", "-A", "-f", ".")
    sub = subprocess.run(["awk", "-F= ", "/^(VERSION|PATCHLEVEL|SUBLEVEL) =/{printf \"%s.\", $2}",
                          os.path.join(SRC, "Makefile")], stdout=subprocess.PIPE, text=True)
    kver = sub.stdout.strip(".")
    env = ident("vrange workbench", "workbench@vrange.invalid", BASE_DATE)
    git("commit", "-q", "--no-verify", "-m",
        "Linux %s (Debian linux-source-6.12 %s)" % (kver, ver), env=env)
    git("tag", "-f", BASE_TAG)
    with open(stamp, "w") as f:
        f.write(ver + "\n")


def drop_debian_ignore():
    """Debian's top-level .gitignore ignores everything at the top level
    ("/*", for its packaging repo), so a file the series adds would be
    invisible to git. The base commit goes without that stanza."""
    path = os.path.join(SRC, ".gitignore")
    lines = open(path).read().split("\n")
    out, skip = [], False
    for i, line in enumerate(lines):
        if line.startswith("# Debian packaging"):
            skip = True
            if out and out[-1] == "#":
                out.pop()
        if not skip:
            out.append(line)
        if skip and line == "!/debian/":
            skip = False
    open(path, "w").write("\n".join(out))


def ident(name, mail, date):
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": mail, "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": mail,
            "GIT_COMMITTER_DATE": date}


# ---------------------------------------------------------------- patch files

def read_series():
    path = os.path.join(PATCHES, "series")
    if not os.path.exists(path):
        return []
    names = []
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split()[0])
    return names


def parse_patch(path):
    """(headers dict, message, diff) of one patch file."""
    text = open(path).read()
    lines = text.split("\n")
    i = 0
    if lines and lines[0].startswith("From ") and not lines[0].startswith("From:"):
        i = 1
    hdrs, cur = {}, None
    while i < len(lines) and lines[i] != "":
        line = lines[i]
        if line[:1] in (" ", "\t") and cur:
            hdrs[cur] += " " + line.strip()
        else:
            k, _, v = line.partition(":")
            cur = k.strip()
            hdrs[cur] = v.strip()
        i += 1
    rest = lines[i + 1:]
    try:
        sep = rest.index("---")
    except ValueError:
        sep = len(rest)
    msg = "\n".join(rest[:sep]).strip("\n") + "\n"
    diff = "\n".join(rest[sep + 1:])
    m = re.search(r"^diff --git ", diff, re.M)
    diff = diff[m.start():] if m else ""
    subj = re.sub(r"^\[PATCH[^\]]*\]\s*", "", hdrs.get("Subject", ""))
    for k in ("From", "Date", "Subject"):
        if k not in hdrs:
            die("%s: no %s: header" % (path, k))
    if not msg.strip():
        return hdrs, subj + "\n", diff
    return hdrs, subj + "\n\n" + msg, diff


def assemble():
    """Commit the series onto the base with a private index; return the tip.

    Nothing in the work tree is touched here, and the commits are a pure
    function of the repo's content (fixed identities and dates), so an
    unchanged series yields the same tip hash.
    """
    base = git("rev-parse", BASE_TAG + "^{commit}")
    tmpdir = tempfile.mkdtemp(prefix="vrange-idx-")
    env = {"GIT_INDEX_FILE": os.path.join(tmpdir, "index")}
    try:
        git("read-tree", base, env=env)
        parent = base
        claimed = set()
        for name in read_series():
            path = os.path.join(PATCHES, name)
            if not os.path.exists(path):
                die("patches/series names %s, which does not exist" % name)
            hdrs, msg, diff = parse_patch(path)
            if diff.strip():
                r = subprocess.run(["git", "apply", "--cached", "--whitespace=nowarn", "-"],
                                   cwd=SRC, input=diff, text=True, env=dict(os.environ, **env),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if r.returncode != 0:
                    die("patches/%s does not apply:\n%s" % (name, r.stderr))
            for f in hdrs.get(ADDS, "").split():
                src = os.path.join(LINUX, f)
                if not os.path.isfile(src):
                    die("patches/%s adds %s, which is not in linux/" % (name, f))
                claimed.add(f)
                blob = git("hash-object", "-w", src)
                mode = "100755" if os.access(src, os.X_OK) else "100644"
                git("update-index", "--add", "--cacheinfo", "%s,%s,%s" % (mode, blob, f), env=env)
            tree = git("write-tree", env=env)
            name_, mail = email.utils.parseaddr(hdrs["From"])
            ts = email.utils.parsedate_to_datetime(hdrs["Date"])
            date = "%d %s" % (int(ts.timestamp()), ts.strftime("%z") or "+0000")
            parent = git("commit-tree", tree, "-p", parent, input=msg,
                         env=ident(name_, mail, date))
        for dirpath, _, files in os.walk(LINUX):
            for fn in files:
                rel = os.path.relpath(os.path.join(dirpath, fn), LINUX)
                if rel not in claimed:
                    die("linux/%s is added by no patch (add it to a patch's %s: header)" % (rel, ADDS))
        return parent
    finally:
        shutil.rmtree(tmpdir)


def dirty_paths():
    out = git("status", "--porcelain=v1", "-z", "--untracked-files=all", text=False)
    paths = []
    for ent in out.decode().split("\0"):
        if not ent:
            continue
        path = ent[3:]
        if path.startswith(".") and "/" not in path:
            continue                          # editor/tool droppings at the top
        paths.append(path)
    return paths


def cmd_tree(force=False):
    ensure_base()
    tip = assemble()
    head = git("rev-parse", "-q", "--verify", "HEAD", check=False)
    if head == tip:
        log("build/linux is up to date (%d commits on %s)" % (len(read_series()), BASE_TAG))
        return
    dirty = dirty_paths()
    if dirty and not force:
        die("build/linux has uncommitted edits (%s...): run 'make save' first, or 'make tree FORCE=1' "
            "to throw them away" % ", ".join(dirty[:3]))
    # Commits made in build/linux since it was last assembled or saved are
    # work too: only a tree still at what the workbench wrote is replaced.
    last = assembled()
    if head and last and head != last and not force:
        die("build/linux has commits that are not saved (HEAD %s, last assembled %s): run 'make save' "
            "first, or 'make tree FORCE=1' to throw them away" % (head[:12], last[:12]))
    git("checkout", "-q", "-B", BRANCH)
    git("reset", "-q", "--hard", tip)
    assembled(tip)
    log("build/linux: %s + %d commits" % (BASE_TAG, len(read_series())))


def assembled(tip=None):
    """The commit the workbench last left build/linux at (set it with tip)."""
    stamp = os.path.join(SRC, ".git", "vrange-assembled")
    if tip:
        with open(stamp, "w") as f:
            f.write(tip + "\n")
        return tip
    try:
        with open(stamp) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------- save

def slug(subject):
    s = re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-").lower()
    return s[:60].rstrip("-")


def cmd_save():
    if not os.path.isdir(os.path.join(SRC, ".git")):
        die("no build/linux: run 'make tree' first")
    base = git("rev-parse", BASE_TAG + "^{commit}")
    commits = git("rev-list", "--reverse", "--first-parent", base + "..HEAD").split()
    if not commits:
        die("build/linux has no commits on top of %s" % BASE_TAG)
    trees = [git("rev-parse", base + "^{tree}")] + [git("rev-parse", c + "^{tree}") for c in commits]
    n = len(commits)

    # Fold uncommitted edits into the commit that owns each path.
    dirty = dirty_paths()
    owner = {}
    # A path no commit touched yet goes to the last commit, or to the one
    # SAVE_TO=N names (1 = the first commit of the series).
    default = int(os.environ.get("SAVE_TO") or n)
    if not 1 <= default <= n:
        die("SAVE_TO=%d: the series has commits 1..%d" % (default, n))
    for p in dirty:
        o = default
        for j in range(n, 0, -1):
            if git("diff-tree", "--no-renames", "--name-only", "-r", trees[j - 1], trees[j], "--", p):
                o = j
                break
        owner[p] = o
    if dirty:
        log("folding %d uncommitted path(s) into their commits" % len(dirty))
        tmpdir = tempfile.mkdtemp(prefix="vrange-save-")
        env = {"GIT_INDEX_FILE": os.path.join(tmpdir, "index")}
        blobs = {}
        for p in dirty:
            full = os.path.join(SRC, p)
            if os.path.lexists(full):
                mode = "100755" if os.access(full, os.X_OK) else "100644"
                blobs[p] = (mode, git("hash-object", "-w", full))
            else:
                blobs[p] = None
        try:
            for j in range(1, n + 1):
                mine = [p for p in dirty if owner[p] <= j]
                if not mine:
                    continue
                git("read-tree", trees[j], env=env)
                for p in mine:
                    if blobs[p] is None:
                        git("update-index", "--force-remove", p, env=env)
                    else:
                        git("update-index", "--add", "--cacheinfo",
                            "%s,%s,%s" % (blobs[p][0], blobs[p][1], p), env=env)
                trees[j] = git("write-tree", env=env)
        finally:
            shutil.rmtree(tmpdir)

    # Which files each commit adds, and which of its changes are edits.
    changes = []
    for j in range(1, n + 1):
        out = git("diff-tree", "--no-renames", "-r", "--name-status", trees[j - 1], trees[j])
        ch = [(l.split("\t", 1)[0], l.split("\t", 1)[1]) for l in out.splitlines() if l]
        changes.append(ch)
    added_by = {}
    for j, ch in enumerate(changes, 1):
        for st, p in ch:
            if st == "A":
                added_by[p] = j
            elif st == "D" and p in added_by:
                die("commit %d deletes %s, which commit %d added: squash them" % (j, p, added_by[p]))

    # Write linux/ and patches/ afresh (elsewhere with VRANGE_SAVE_TO, for
    # the workbench's round-trip test, which leaves build/linux alone).
    save_to = os.environ.get("VRANGE_SAVE_TO")
    linux_dir = os.path.join(save_to, "linux") if save_to else LINUX
    patches_dir = os.path.join(save_to, "patches") if save_to else PATCHES
    cover_path = os.path.join(PATCHES, "cover-letter")
    cover = open(cover_path).read() if os.path.exists(cover_path) else None
    for d in (linux_dir, patches_dir):
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    names = []
    for j, c in enumerate(commits, 1):
        adds = sorted(p for p, k in added_by.items() if k == j)
        for p in adds:
            data = git("cat-file", "blob", "%s:%s" % (trees[j], p), text=False)
            dst = os.path.join(linux_dir, p)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(data)
            mode = git("ls-tree", trees[j], "--", p).split()[0]
            if mode == "100755":
                os.chmod(dst, 0o755)
        edits = [p for st, p in changes[j - 1] if p not in adds]
        an, ae, ad = git("log", "-1", "--format=%an%x00%ae%x00%ad", "--date=rfc2822", c).split("\x00")
        body = git("log", "-1", "--format=%B", c)
        subject, _, rest = body.partition("\n")
        rest = rest.strip("\n")
        diff = ""
        if edits:
            diff = git("diff", "--no-color", "--no-renames", "--stat=80", "--summary", "-p",
                       trees[j - 1], trees[j], "--", *edits, strip=False)
        name = slug(subject) + ".patch"
        k = 2
        while name in names:
            name = "%s-%d.patch" % (slug(subject), k)
            k += 1
        names.append(name)
        with open(os.path.join(patches_dir, name), "w") as f:
            f.write("From: %s <%s>\n" % (an, ae))
            f.write("Date: %s\n" % ad)
            f.write("Subject: [PATCH] %s\n" % subject)
            if adds:
                f.write("%s: %s\n" % (ADDS, "\n  ".join(adds)))
            f.write("\n%s\n---\n" % rest)
            if diff:
                f.write(diff + "\n")
    with open(os.path.join(patches_dir, "series"), "w") as f:
        f.write("# vrange series, in order (quilt format). Each patch's %s: header\n" % ADDS)
        f.write("# names the files of linux/ that its commit adds.\n")
        for nm in names:
            f.write(nm + "\n")
    if cover is not None:
        with open(os.path.join(patches_dir, "cover-letter"), "w") as f:
            f.write(cover)
    log("saved %d commits into linux/ and patches/" % n)
    if save_to:
        return

    # Re-sync build/linux's history with what was saved, touching no file.
    tip = assemble()
    tip_tree = git("rev-parse", tip + "^{tree}")
    if tip_tree != trees[n]:
        die("internal: the saved series does not reproduce build/linux (tree %s != %s)"
            % (tip_tree, trees[n]))
    git("update-ref", "refs/heads/" + BRANCH, tip)
    git("symbolic-ref", "HEAD", "refs/heads/" + BRANCH)
    git("reset", "-q", "--mixed", tip)
    assembled(tip)


# ---------------------------------------------------------------- export

def cmd_export():
    out = os.path.join(TOP, "out", "series")
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    cover = os.path.join(PATCHES, "cover-letter")
    if os.path.exists(cover):
        git("config", "branch.%s.description" % BRANCH, open(cover).read().strip())
    git("format-patch", "-q", "--cover-letter", "--cover-from-description=subject",
        "--base=" + BASE_TAG, "--thread", "-o", out, BASE_TAG + ".." + BRANCH)
    n = len([f for f in os.listdir(out) if f.endswith(".patch")])
    log("out/series: %d files (cover letter and %d patches)" % (n, n - 1))


def cmd_amcheck():
    """Do the exported patches apply, in order, onto the base, and give the
    tree of the series? (git am's own apply, on a private index.)"""
    out = os.path.join(TOP, "out", "series")
    pats = sorted(f for f in os.listdir(out) if f.endswith(".patch") and not f.startswith("0000-"))
    tmpdir = tempfile.mkdtemp(prefix="vrange-am-")
    env = {"GIT_INDEX_FILE": os.path.join(tmpdir, "index")}
    try:
        git("read-tree", BASE_TAG, env=env)
        for pat in pats:
            r = subprocess.run(["git", "apply", "--cached", os.path.join(out, pat)], cwd=SRC,
                               env=dict(os.environ, **env), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode:
                die("%s does not apply onto %s:\n%s" % (pat, BASE_TAG, r.stderr))
        tree = git("write-tree", env=env)
        want = git("rev-parse", BRANCH + "^{tree}")
        if tree != want:
            die("the exported patches give tree %s, not the series' %s" % (tree, want))
    finally:
        shutil.rmtree(tmpdir)
    log("out/series: %d patches apply onto %s and give the series' tree" % (len(pats), BASE_TAG))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "tree":
        cmd_tree(force=os.environ.get("FORCE") == "1")
    elif cmd == "save":
        cmd_save()
    elif cmd == "export":
        cmd_export()
    elif cmd == "amcheck":
        cmd_amcheck()
    elif cmd == "tip":
        ensure_base()
        print(assemble())
    else:
        die("usage: series.py tree|save|export|tip")


if __name__ == "__main__":
    main()
