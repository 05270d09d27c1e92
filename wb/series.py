#!/usr/bin/env python3
"""Assemble the vrange series into a git kernel tree, and save it back.

patches/ is the series as `git format-patch` writes it: 0000-cover-letter.patch
and one complete patch per commit (new files included), plus patches/series,
their order for quilt (and for git am, which must not be given the cover
letter). They apply with git am onto any tree that has the base.

build/linux is a git repo: the pristine base (tag vrange-base) and the series
on branch vrange. Both directions go through a second worktree, build/am/linux,
so that no file in build/linux is rewritten unless its content changes (the
kernel's objects in build/obj-* stay valid):

  tree    git am of patches/ onto the base, in build/am/linux; build/linux is
          then reset to the result (only files that differ are touched)
  save    uncommitted edits in build/linux become `fixup!` commits of the
          commit that last touched each path (SAVE_TO=N: paths no commit
          touched go to commit N, else to the last); fixup!/squash! commits
          are folded by `git rebase --autosquash` in build/am/linux; the
          result is written to patches/ with `git format-patch`; then as tree
  export  out/series/: the same series, threaded, for sending
  amcheck git am of out/series/ (or of the directory given) onto the base
          gives the tree of build/linux's branch vrange
"""

import email.header
import email.parser
import email.utils
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
SRC = os.path.join(BUILD, "linux")
AM = os.path.join(BUILD, "am", "linux")
PATCHES = os.path.join(TOP, "patches")
COVER = "0000-cover-letter.patch"
BRANCH = "vrange"
AM_BRANCH = "vrange-am"
BASE_TAG = "vrange-base"
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

def read_series(d=PATCHES):
    """The patch files of directory d, in order: patches/series if it is
    there (quilt's format: one name a line, '#' comments), else every
    NNNN-*.patch but the cover letter."""
    path = os.path.join(d, "series")
    if os.path.exists(path):
        names = []
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line.split()[0])
        return names
    return sorted(f for f in os.listdir(d) if re.match(r"\d{4}-.*\.patch$", f) and f != COVER)


def patch_author(path):
    """(name, mail) of a patch's From: header (format-patch folds it)."""
    with open(path) as f:
        msg = email.parser.Parser().parse(f, headersonly=True)
    if not msg["From"]:
        die("%s: no From: header" % path)
    name, mail = email.utils.parseaddr(str(msg["From"]))
    return str(email.header.make_header(email.header.decode_header(name))), mail


def cover_text(d=PATCHES):
    """The cover letter's own text (subject, blank line, body), without what
    format-patch adds to it (shortlog, diffstat, base-commit)."""
    path = os.path.join(d, COVER)
    if not os.path.exists(path):
        return None
    text = open(path).read()
    hdr, _, body = text.partition("\n\n")
    subj = ""
    for line in hdr.split("\n"):
        if line.startswith("Subject: "):
            subj = line[len("Subject: "):]
        elif line[:1] in (" ", "\t") and subj:
            subj += " " + line.strip()
    subj = re.sub(r"^\[[^\]]*\]\s*", "", subj)
    # format-patch's shortlog starts with "Name (N):" at column 0.
    m = re.search(r"^\S[^\n]* \(\d+\):$", body, re.M)
    if m:
        body = body[:m.start()]
    return subj.strip() + "\n\n" + body.strip("\n") + "\n"


# ---------------------------------------------------------------- the am worktree

def am_worktree():
    """build/am/linux: a worktree of build/linux's repo, on branch vrange-am."""
    if os.path.exists(os.path.join(AM, ".git")):
        if git("rev-parse", "--git-dir", cwd=AM, check=False):
            return AM
        shutil.rmtree(AM)            # build/linux was re-extracted under it
    git("worktree", "prune")
    os.makedirs(os.path.dirname(AM), exist_ok=True)
    git("worktree", "add", "-q", "-f", "-B", AM_BRANCH, AM, BASE_TAG)
    return AM


def am_env(d=PATCHES):
    """Committer = the author of the first patch, committer date = author date:
    the same patches always give the same commits."""
    names = read_series(d)
    if not names:
        return {}
    name, mail = patch_author(os.path.join(d, names[0]))
    return {"GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": mail}


def am_apply(d=PATCHES):
    """git am the series of directory d onto the base in build/am/linux;
    return the tip."""
    wt = am_worktree()
    if os.path.exists(os.path.join(git("rev-parse", "--git-dir", cwd=wt), "rebase-apply")):
        git("am", "--abort", cwd=wt, check=False)
    git("checkout", "-q", "-f", "-B", AM_BRANCH, BASE_TAG, cwd=wt)
    git("clean", "-q", "-fdx", cwd=wt)
    names = read_series(d)
    for nm in names:
        if not os.path.exists(os.path.join(d, nm)):
            die("%s/series names %s, which does not exist" % (d, nm))
    if names:
        r = subprocess.run(["git", "am", "-q", "--committer-date-is-author-date",
                            "--whitespace=nowarn"] + [os.path.join(d, nm) for nm in names],
                           cwd=wt, env=dict(os.environ, **am_env(d)), text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode:
            err = (r.stdout + r.stderr).strip()
            git("am", "--abort", cwd=wt, check=False)
            die("git am of %s does not apply onto %s:\n%s" % (d, BASE_TAG, err))
    return git("rev-parse", "HEAD", cwd=wt)


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


def patches_digest(d=PATCHES):
    h = hashlib.sha256()
    for nm in read_series(d):
        h.update(nm.encode() + b"\0" + open(os.path.join(d, nm), "rb").read())
    return h.hexdigest()


def cmd_tree(force=False):
    ensure_base()
    head = git("rev-parse", "-q", "--verify", "HEAD", check=False)
    digest = patches_digest()
    stamp = os.path.join(SRC, ".git", "vrange-patches")
    last = assembled()
    if (head and head == last and os.path.exists(stamp) and open(stamp).read().strip() == digest
            and not dirty_paths()):
        log("build/linux is up to date (%d commits on %s)" % (len(read_series()), BASE_TAG))
        return
    tip = am_apply()
    if head == tip:
        with open(stamp, "w") as f:
            f.write(digest + "\n")
        assembled(tip)
        log("build/linux is up to date (%d commits on %s)" % (len(read_series()), BASE_TAG))
        return
    dirty = dirty_paths()
    if dirty and not force:
        die("build/linux has uncommitted edits (%s...): run 'make save' first, or 'make tree FORCE=1' "
            "to throw them away" % ", ".join(dirty[:3]))
    # Commits made in build/linux since it was last assembled or saved are
    # work too: only a tree still at what the workbench wrote is replaced.
    if head and last and head != last and not force:
        die("build/linux has commits that are not saved (HEAD %s, last assembled %s): run 'make save' "
            "first, or 'make tree FORCE=1' to throw them away" % (head[:12], last[:12]))
    git("checkout", "-q", "-B", BRANCH)
    git("reset", "-q", "--hard", tip)
    git("clean", "-q", "-fd")
    assembled(tip)
    with open(stamp, "w") as f:
        f.write(digest + "\n")
    log("build/linux: %s + %d commits (git am of patches/)" % (BASE_TAG, len(read_series())))


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

def format_patch(branch, out, cover, thread=False):
    """git format-patch of the base..branch into out, with the cover letter's
    text (from the branch's description, which is how format-patch takes
    it). --zero-commit, --no-signature and the cover letter dated as the tip
    keep the files a function of the commits, not of when or by which git
    they were written."""
    wt = am_worktree()
    if cover:
        git("config", "branch.%s.description" % branch, cover.strip(), cwd=wt)
    date = git("log", "-1", "--format=%ad", "--date=raw", branch, cwd=wt)
    args = ["format-patch", "-q", "--no-renames", "--zero-commit", "--no-signature",
            "--cover-letter", "--cover-from-description=subject", "--base=" + BASE_TAG,
            "-o", out]
    if thread:
        args.append("--thread")
    git(*(args + [BASE_TAG + ".." + branch]), cwd=wt, env={"GIT_COMMITTER_DATE": date})


def cmd_save():
    if not os.path.isdir(os.path.join(SRC, ".git")):
        die("no build/linux: run 'make tree' first")
    base = git("rev-parse", BASE_TAG + "^{commit}")
    commits = git("rev-list", "--reverse", "--first-parent", base + "..HEAD").split()
    if not commits:
        die("build/linux has no commits on top of %s" % BASE_TAG)
    n = len(commits)
    trees = [git("rev-parse", base + "^{tree}")] + [git("rev-parse", c + "^{tree}") for c in commits]

    # Each uncommitted path becomes a fixup! of the commit that last touched
    # it, or of the one SAVE_TO=N names (1 = the first commit of the series).
    dirty = dirty_paths()
    tip = git("rev-parse", "HEAD")
    if dirty:
        default = int(os.environ.get("SAVE_TO") or n)
        if not 1 <= default <= n:
            die("SAVE_TO=%d: the series has commits 1..%d" % (default, n))
        owner = {}
        for p in dirty:
            o = default
            for j in range(n, 0, -1):
                if git("diff-tree", "--no-renames", "--name-only", "-r", trees[j - 1], trees[j], "--", p):
                    o = j
                    break
            owner[p] = o
        log("folding %d uncommitted path(s) into their commits" % len(dirty))
        tmpdir = tempfile.mkdtemp(prefix="vrange-save-")
        env = {"GIT_INDEX_FILE": os.path.join(tmpdir, "index")}
        try:
            git("read-tree", tip, env=env)
            for j in sorted(set(owner.values())):
                for p in (p for p in dirty if owner[p] == j):
                    full = os.path.join(SRC, p)
                    if os.path.lexists(full):
                        mode = "100755" if os.access(full, os.X_OK) else "100644"
                        blob = git("hash-object", "-w", full)
                        git("update-index", "--add", "--cacheinfo", "%s,%s,%s" % (mode, blob, p), env=env)
                    else:
                        git("update-index", "--force-remove", p, env=env)
                tree = git("write-tree", env=env)
                tip = git("commit-tree", tree, "-p", tip, input="fixup! %s\n" % commits[j - 1])
        finally:
            shutil.rmtree(tmpdir)

    # Fold fixup!/squash! commits where they belong, in the am worktree.
    wt = am_worktree()
    git("checkout", "-q", "-f", "-B", AM_BRANCH, tip, cwd=wt)
    subjects = git("log", "--format=%s", base + ".." + tip)
    if re.search(r"^(fixup|squash|amend)! ", subjects, re.M):
        r = subprocess.run(["git", "rebase", "-q", "-i", "--autosquash", "--committer-date-is-author-date",
                            BASE_TAG], cwd=wt, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, GIT_SEQUENCE_EDITOR=":", GIT_EDITOR=":"))
        if r.returncode:
            err = (r.stdout + r.stderr).strip()
            git("rebase", "--abort", cwd=wt, check=False)
            die("folding the fixups does not rebase cleanly:\n%s\n(fix it in build/linux with "
                "git rebase -i --autosquash %s, then make save)" % (err, BASE_TAG))
        tip = git("rev-parse", "HEAD", cwd=wt)
    want_tree = git("rev-parse", tip + "^{tree}")

    # Write patches/ afresh (elsewhere with VRANGE_SAVE_TO, for the
    # workbench's round-trip test, which leaves build/linux alone).
    save_to = os.environ.get("VRANGE_SAVE_TO")
    patches_dir = os.path.join(save_to, "patches") if save_to else PATCHES
    cover = cover_text()
    tmp = tempfile.mkdtemp(prefix="vrange-fp-")
    try:
        format_patch(AM_BRANCH, tmp, cover)
        names = sorted(f for f in os.listdir(tmp) if f != COVER)
        with open(os.path.join(tmp, "series"), "w") as f:
            f.write("# The vrange series in order (quilt's format; git am takes these files too).\n")
            for nm in names:
                f.write(nm + "\n")
        if os.path.isdir(patches_dir):
            shutil.rmtree(patches_dir)
        shutil.copytree(tmp, patches_dir)
    finally:
        shutil.rmtree(tmp)
    log("saved %d commits into %s" % (len(names), os.path.relpath(patches_dir, TOP)))
    if save_to:
        return

    # Re-sync build/linux's history with what was saved, touching no file.
    new = am_apply()
    if git("rev-parse", new + "^{tree}") != want_tree:
        die("internal: git am of the saved patches does not give the saved tree")
    git("update-ref", "refs/heads/" + BRANCH, new)
    git("symbolic-ref", "HEAD", "refs/heads/" + BRANCH)
    git("reset", "-q", "--mixed", new)
    assembled(new)
    with open(os.path.join(SRC, ".git", "vrange-patches"), "w") as f:
        f.write(patches_digest() + "\n")


# ---------------------------------------------------------------- export

def cmd_export():
    out = os.path.join(TOP, "out", "series")
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    format_patch(BRANCH, out, cover_text(), thread=True)
    n = len([f for f in os.listdir(out) if f.endswith(".patch")])
    log("out/series: %d files (cover letter and %d patches)" % (n, n - 1))


def cmd_amcheck(d=None):
    """Does `git am` of directory d (out/series by default) onto the base give
    the tree of the series in build/linux?"""
    d = os.path.abspath(d or os.path.join(TOP, "out", "series"))
    tip = am_apply(d)
    tree = git("rev-parse", tip + "^{tree}")
    want = git("rev-parse", BRANCH + "^{tree}")
    if tree != want:
        die("git am of %s gives tree %s, not the series' %s" % (d, tree, want))
    log("git am of %s (%d patches) onto %s gives the tree of build/linux's %s"
        % (os.path.relpath(d, TOP), len(read_series(d)), BASE_TAG, BRANCH))


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "tree":
        cmd_tree(force=os.environ.get("FORCE") == "1")
    elif cmd == "save":
        cmd_save()
    elif cmd == "export":
        cmd_export()
    elif cmd == "amcheck":
        cmd_amcheck(sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        die("usage: series.py tree|save|export|amcheck [DIR]")


if __name__ == "__main__":
    main()
