"""The documentation holds: its examples run, its command lines and options exist.

Conventions in README.md and docs/*.md (docs/README.md explains them to readers):

* A fenced ```sh block is a command example.  The HTML comment on the line
  before it says how it is exercised:

  ``<!-- test -->``
      run here, in order, against one throw-away project per module, with
      ``bash -e -o pipefail`` in ``$PROJECT`` (``$SRC`` while there is no
      project yet).  Options: ``expect="TEXT"`` (repeatable: must appear in
      stdout + stderr), ``status=N`` (the exit status, default 0).
  ``<!-- settings -->``
      only ``VAR=value`` lines naming the variables the examples use; here
      they get this test's values (:data:`VARIABLES`).
  ``<!-- covered: tests/PATH.py::test_name ... -->``
      exercised by that test (which must exist), not run here.
  ``<!-- not run: REASON -->``
      changes the machine (system Apache, crontab, DB server accounts, other
      hosts); may not hold a program of ours.

  Blocks of README.md's own sections that carry no comment are listed in
  :data:`COVERED_ELSEWHERE`.
* Every ``bin/NAME`` / ``cgi-bin/NAME`` the docs mention exists, and every
  option written after it (or in a ``<cmd>`` of config.xml) is in that
  program's ``--help``.
* docs/commands.md has a section per program of bin/ and cgi-bin/ listing
  exactly the options its ``--help`` shows; docs/config.md lists every
  option sched/config.py reads, with its default, and what it says is read
  (or not acted on) matches the code.
"""

import functools
import os
import re
import shlex
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")

# Our documentation files; their links must resolve.
OWN_DOCS = ["docs/README.md", "docs/operating.md", "docs/commands.md", "docs/config.md",
            "docs/apache.md", "docs/scaling.md"]

# Files whose runnable blocks share one project, in this order; others follow.
RUN_ORDER = ["docs/operating.md", "docs/commands.md", "docs/config.md", "docs/scaling.md",
             "docs/apache.md"]

# The shell variables of the examples (a <!-- settings --> block names them).
VARIABLES = ("SRC", "PROJECT", "NAME", "URL_BASE", "DB_HOST", "DB_USER", "DB_PASSWD",
             "DB_NAME", "OFFLINE")

# Unmarked command blocks of README.md sections other than ours:
# (file, first line of the block) -> what exercises them.
COVERED_ELSEWHERE = {
    ("README.md", "scripts/demo          # set up, create a demo project and start it"):
        ["tests/test_demo.py::test_demo_runs_reruns_recovers_and_stops", ".ci/run"],
    ("README.md", "scripts/demo --stop"):
        ["tests/test_demo.py::test_demo_runs_reruns_recovers_and_stops"],
}

# System programs a <!-- not run --> block may use.
SYSTEM_PROGRAMS = {"a2enmod", "a2dismod", "ln", "apache2ctl", "usermod", "crontab",
                   "mysql", "mariadb", "ssh", "ssh-keygen", "ssh-copy-id", "htpasswd",
                   "sysctl", "systemctl", "service", "rm", "mount", "echo", "cat", "cd"}

SHELL_LANGS = ("sh", "shell", "bash", "console")


# ------------------------------------------------------------------ reading docs

def doc_files():
    names = ["README.md"] + sorted("docs/" + f for f in os.listdir(DOCS) if f.endswith(".md"))
    return [n for n in names if os.path.exists(os.path.join(ROOT, n))]


class Block:
    """A fenced code block: its language, text and the marker comment before it."""

    def __init__(self, path, line, lang, text, marker):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.kind, self.opts = parse_marker(marker)

    @property
    def where(self):
        return "%s:%d" % (self.path, self.line)

    def first_line(self):
        return next((x.strip() for x in self.text.splitlines() if x.strip()), "")


_MARKER = re.compile(r"^<!--\s*(test|settings|covered|not run)\s*:?\s*(.*?)\s*-->$")


def parse_marker(comment):
    """('test', {'expect': [...], 'status': 0}), ('covered', [refs]), ... or (None, None)."""
    m = _MARKER.match(comment or "")
    if not m:
        return None, None
    kind, rest = m.group(1), m.group(2)
    if kind == "test":
        opts = {"expect": [], "status": 0}
        for word in shlex.split(rest):
            key, _, value = word.partition("=")
            if key == "expect":
                opts["expect"].append(value)
            elif key == "status":
                opts["status"] = int(value)
            else:
                raise AssertionError("unknown test option %r in %r" % (word, comment))
        return kind, opts
    if kind == "covered":
        return kind, rest.split()
    return kind, rest


@functools.lru_cache(maxsize=None)
def read_blocks(path):
    blocks, lines = [], read_text(path).splitlines()
    i, last = 0, ""
    while i < len(lines):
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w-]*)", lines[i])
        if not m:
            if lines[i].strip():
                last = lines[i].strip()
            i += 1
            continue
        fence, lang, start = m.group(2), m.group(3), i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(m.group(1)):])
            i += 1
        blocks.append(Block(path, start + 1, lang, "\n".join(body) + "\n",
                            last if last.startswith("<!--") else ""))
        last = ""
        i += 1
    return blocks


@functools.lru_cache(maxsize=None)
def read_text(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def shell_blocks(path):
    return [b for b in read_blocks(path) if b.lang in SHELL_LANGS]


# ------------------------------------------------------------------ programs

def programs():
    """{'bin/NAME' or 'cgi-bin/NAME': path} of this checkout."""
    found = {}
    for d in ("bin", "cgi-bin"):
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if not name.startswith("."):
                found["%s/%s" % (d, name)] = os.path.join(ROOT, d, name)
    return found


_OPTION = re.compile(r"(?:(?<=[\s\[(|,`])|^)(--?[A-Za-z][\w-]*)")


@functools.lru_cache(maxsize=None)
def help_text(prog):
    """What ``PROG --help`` prints (stdout + stderr), run outside any project."""
    with tempfile.TemporaryDirectory() as cwd:
        env = dict(os.environ)
        env.pop("BOINC_PROJECT_DIR", None)
        res = subprocess.run([os.path.join(ROOT, prog), "--help"], cwd=cwd, env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=60)
    return res.stdout + res.stderr


def help_options(prog):
    """The options ``PROG --help`` lists, as written (``-d``, ``--one_pass``).

    Those that start a line, follow ``[``, ``|`` or a comma, or follow the
    program's name (``or cancel_jobs --name wuname``); not those mentioned
    in a description (``(create_work --credit)``).
    """
    name = re.escape(os.path.basename(prog))
    pattern = re.compile(r"(?:^\s*|\[\s*|\|\s*|,\s+|\b%s\s+)(--?[A-Za-z][\w-]*)" % name, re.M)
    opts = set(pattern.findall(help_text(prog)))
    return {o for o in opts if o not in ("-h", "--help")}


def bare(option):
    return option.lstrip("-")


# start/stop/status follow getopt: an option is valid only as written.
EXACT_SPELLING = {"bin/start", "bin/stop", "bin/status"}


def accepts(prog, option):
    opts = help_options(prog) | {"-h", "--help"}
    if option in opts:
        return True
    if prog in EXACT_SPELLING:
        return False
    # BOINC's programs take -name and --name alike; help may show one form.
    return any(bare(o) == bare(option) and len(bare(option)) > 1 for o in opts)


# ------------------------------------------------------------------ the project

def _short_tmp():
    d = tempfile.mkdtemp(prefix="boinctest-docs-", dir="/tmp")
    os.chmod(d, 0o755)
    return d


@pytest.fixture(scope="module")
def docs_env(admin_db, db_account):
    """The examples' variables: a project dir (made by the examples), a DB name."""
    from sched.apache import free_port
    root = _short_tmp()
    db_name = "boinctest_" + os.urandom(4).hex()
    values = dict(SRC=ROOT, PROJECT=os.path.join(root, "test"), NAME="test",
                  URL_BASE="http://127.0.0.1:%d/" % free_port(),
                  DB_HOST=db_account["host"], DB_USER=db_account["user"],
                  DB_PASSWD=db_account["passwd"], DB_NAME=db_name,
                  OFFLINE=os.path.join(root, "offline"))
    os.makedirs(values["OFFLINE"])
    env = dict(os.environ, LANG="C", PYBOINC_START_DELAY="0", **values)
    env.pop("BOINC_PROJECT_DIR", None)
    state = {"env": env, "ran": {}}
    yield state
    stop = os.path.join(values["PROJECT"], "bin", "stop")
    if os.path.exists(stop):
        subprocess.run([stop], cwd=values["PROJECT"], env=env, capture_output=True,
                       timeout=120)
    admin_db.execute("DROP DATABASE IF EXISTS `%s`" % db_name)
    shutil.rmtree(root, ignore_errors=True)


def run_block(block, env):
    project = env["PROJECT"]
    cwd = project if os.path.isdir(project) else env["SRC"]
    res = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.text], cwd=cwd, env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=600)
    out = res.stdout + res.stderr
    problems = []
    if res.returncode != block.opts["status"]:
        problems.append("exit status %d, expected %d" % (res.returncode, block.opts["status"]))
    problems += ["%r not in the output" % e for e in block.opts["expect"] if e not in out]
    if problems:
        return "%s: %s\n--- block:\n%s--- output:\n%s" % (
            block.where, "; ".join(problems), block.text, out)
    return None


def run_file(state, path):
    """Run the test blocks of ``path`` (once); files before it in RUN_ORDER first."""
    if path in state["ran"]:
        return state["ran"][path]
    for before in runnable_files():
        if before == path:
            break
        if run_file(state, before) is not None:
            state["ran"][path] = "not run: %s failed first" % before
            return state["ran"][path]
    error = None
    for block in shell_blocks(path):
        if block.kind == "test":
            error = run_block(block, state["env"])
            if error:
                break
    state["ran"][path] = error
    return error


def runnable_files():
    files = [f for f in doc_files() if any(b.kind == "test" for b in shell_blocks(f))]
    return sorted(files, key=lambda f: (RUN_ORDER.index(f) if f in RUN_ORDER
                                        else len(RUN_ORDER), f))


# ------------------------------------------------------------------ (a) examples run

@pytest.mark.parametrize("path", runnable_files())
def test_examples_run(docs_env, path):
    error = run_file(docs_env, path)
    if error:
        pytest.fail(error, pytrace=False)


def _covered_ref_exists(ref):
    if "::" not in ref:
        return os.path.exists(os.path.join(ROOT, ref))
    path, name = ref.split("::", 1)
    full = os.path.join(ROOT, path)
    return os.path.exists(full) and re.search(r"^def %s\(" % re.escape(name),
                                              read_text(path), re.M) is not None


def _command_words(text):
    """The first word of each command of a shell block (continuations joined)."""
    words = []
    joined = re.sub(r"\\\n", " ", text)
    in_heredoc = None
    for line in joined.splitlines():
        stripped = line.strip()
        if in_heredoc:
            if stripped == in_heredoc:
                in_heredoc = None
            continue
        m = re.search(r"<<-?\s*'?\"?(\w+)", line)
        if m:
            in_heredoc = m.group(1)
        code = stripped.split(" #")[0] if not stripped.startswith("#") else ""
        for part in re.split(r"&&|\|\||;|\|", code):
            part = re.sub(r"^(\s*\w+=\S*)+\s*", "", part).strip()
            if part:
                words.append(part.split()[0])
    return words


def test_every_command_example_is_exercised():
    problems = []
    for path in doc_files():
        for block in shell_blocks(path):
            if block.kind == "test":
                continue
            if block.kind == "settings":
                names = set()
                for line in block.text.splitlines():
                    line = line.split("#")[0].strip()
                    for word in line.split():
                        m = re.match(r"^([A-Z_]+)=", word)
                        if not m:
                            problems.append("%s: settings block holds %r" % (block.where, word))
                        else:
                            names.add(m.group(1))
                if names != set(VARIABLES):
                    problems.append("%s: settings block names %s, the tests set %s"
                                    % (block.where, sorted(names), sorted(VARIABLES)))
            elif block.kind == "covered":
                refs = block.opts
                missing = [r for r in refs if not _covered_ref_exists(r)]
                if not refs or missing:
                    problems.append("%s: covered by missing tests %s" % (block.where, missing))
            elif block.kind == "not run":
                ours = [w for w in _command_words(block.text)
                        if w not in SYSTEM_PROGRAMS or "bin/" in w]
                if not block.opts or ours:
                    problems.append("%s: a 'not run' block needs a reason and may only use "
                                    "system programs (%s)" % (block.where, ours))
            else:
                refs = COVERED_ELSEWHERE.get((path, block.first_line()))
                if refs is None:
                    problems.append("%s: command example without <!-- test -->, "
                                    "<!-- covered: tests/...::test_x -->, <!-- settings --> "
                                    "or <!-- not run: why -->" % block.where)
                else:
                    problems += ["%s: %s does not exist" % (block.where, r)
                                 for r in refs if not _covered_ref_exists(r)]
    assert not problems, "\n".join(problems)


def performance_commands():
    """docs/performance.md's benchmark command lines, shrunk to a smoke run:
    optional ``[...]`` parts given, every number of 100 or more made 20."""
    commands = []
    for line in read_text("docs/performance.md").splitlines():
        m = re.match(r"^\s+\.venv/bin/python (bench/\S+\.py)(.*)$", line)
        if m and ("--versus" in m.group(2) or "--boinc" in m.group(2)):
            # these need BOINC's C++ server built outside the repository (see the
            # section); tests/bench runs sched_bench.py against ours
            continue
        if m:
            args = m.group(2).replace("[", " ").replace("]", " ").split()
            args = ["20" if a.isdigit() and int(a) >= 100 else a for a in args]
            commands.append([m.group(1)] + args)
    return commands


@pytest.mark.parametrize("command", performance_commands(), ids=" ".join)
def test_performance_md_benchmarks_run_small(command):
    """What docs/performance.md tells you to run runs (small; speed not judged)."""
    import sys
    res = subprocess.run([sys.executable, os.path.join(ROOT, command[0])] + command[1:],
                         cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr


# ------------------------------------------------------------------ (b) commands exist

_PROGRAM_REF = re.compile(r"(?<![\w./$-])(?:\$PROJECT/|\$SRC/|PROJECT/|\./)?"
                          r"((?:cgi-)?bin)/([A-Za-z_][\w.-]*[\w])")
_CMD_ELEM = re.compile(r"<cmd>\s*([^<]+?)\s*</cmd>")


def _options_after(text):
    """The option words of one command line (up to ; | && # or a backtick)."""
    text = re.split(r"\s#|;|\||&&|`|\)|\s<\s|\s>\s|>&|\s2>", text)[0]
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        words = text.split()
    opts = []
    for w in words:
        if re.match(r"^--?[A-Za-z][\w-]*(=.*)?$", w):
            opts.append(w.split("=", 1)[0])
    return opts


def doc_command_lines():
    """(where, 'bin/NAME', [options]) for each program mention in the docs."""
    found = []
    for path in doc_files():
        text = read_text(path)
        # Join shell continuations so options on the next line count.
        text = re.sub(r"\\\n\s*", " ", text)
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in _PROGRAM_REF.finditer(line):
                prog = "%s/%s" % (m.group(1), m.group(2))
                rest = line[m.end():]
                found.append(("%s:%d" % (path, lineno), prog, _options_after(rest)))
            for m in _CMD_ELEM.finditer(line):
                words = m.group(1).split()
                name = words[0]
                if name == "run_in_ops":
                    continue
                found.append(("%s:%d" % (path, lineno), "bin/" + name,
                              _options_after(m.group(1)[len(name):])))
    return found


def test_documented_programs_exist_and_take_the_options():
    progs = programs()
    problems = []
    for where, prog, options in doc_command_lines():
        if re.match(r"^(cgi-)?bin/[A-Z_]+$", prog):     # a placeholder: bin/NAME
            continue
        if prog not in progs:
            problems.append("%s: %s does not exist" % (where, prog))
            continue
        bad = [o for o in options if not accepts(prog, o)]
        if bad:
            problems.append("%s: %s --help doesn't show %s" % (where, prog, " ".join(bad)))
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ (c) commands.md

def _sections(path, level):
    """{heading text: section text} for headings of exactly ``level`` #s."""
    sections, current, lines = {}, None, []
    for line in read_text(path).splitlines():
        m = re.match(r"^(#+)\s+(.*)$", line)
        if m and len(m.group(1)) <= level:
            if current:
                sections[current] = "\n".join(lines)
            current = m.group(2).strip() if len(m.group(1)) == level else None
            lines = []
        elif current:
            lines.append(line)
    if current:
        sections[current] = "\n".join(lines)
    return sections


def _anchor(heading):
    text = re.sub(r"[^\w\s-]", "", heading.lower()).strip()
    return re.sub(r"\s", "-", text)


def commands_sections():
    """{'bin/NAME': section text} of docs/commands.md; groups by anchor."""
    by_prog, groups = {}, {}
    for heading, text in _sections("docs/commands.md", 3).items():
        m = re.match(r"^`((?:cgi-)?bin/[\w.-]+)`", heading)
        if m:
            by_prog[m.group(1)] = text
    for heading, text in _sections("docs/commands.md", 2).items():
        groups[_anchor(heading)] = text
    return by_prog, groups


# An option as a section names it: at the start of an inline code span
# (`--mod N I`, `-d N`); options inside other spans (`PROG --error ...`) and
# in fenced examples are someone else's.
_SPAN_OPTION = re.compile(r"`(--?[A-Za-z][\w-]*)")


def _span_options(text):
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return set(_SPAN_OPTION.findall(text))


def _section_options(text, groups, seen=()):
    opts = _span_options(text)
    for anchor in re.findall(r"\]\(#([\w-]+)\)", text):
        if anchor in groups and anchor not in seen:
            opts |= _section_options(groups[anchor], groups, seen + (anchor,))
    return opts


def test_commands_md_covers_every_program_and_option():
    by_prog, groups = commands_sections()
    progs = programs()
    problems = ["docs/commands.md: no section for %s" % p for p in progs if p not in by_prog]
    problems += ["docs/commands.md: section for %s, which does not exist" % p
                 for p in by_prog if p not in progs]
    for prog, text in by_prog.items():
        if prog not in progs:
            continue
        documented = {bare(o) for o in _section_options(text, groups)}
        own = {bare(o) for o in _span_options(text)}
        shown = {bare(o) for o in help_options(prog)}
        missing = sorted(shown - documented)
        if missing:
            problems.append("docs/commands.md %s: options of --help not documented: %s"
                            % (prog, missing))
        bad = sorted(o for o in own if not accepts(prog, "--" + o) and not accepts(prog, "-" + o))
        if bad:
            problems.append("docs/commands.md %s: documented options --help doesn't show: %s"
                            % (prog, bad))
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ (d) config.md

def _config_rows():
    """{tag: default text} of the option tables of docs/config.md (`<tag>` rows)."""
    rows = {}
    for line in read_text("docs/config.md").splitlines():
        m = re.match(r"^\|\s*`<([\w-]+)>`\s*\|\s*([^|]*?)\s*\|", line)
        if m:
            rows.setdefault(m.group(1), m.group(2))
    return rows


def _default_text(kind, default):
    if kind in ("ls", "li"):
        return "—"
    if kind == "s":
        return "—" if not default else "`%s`" % default
    if kind == "b":
        return "1" if default else "0"
    if kind == "o":
        return "unset"
    if kind == "f":
        return "%g" % default
    return "%d" % default


def _sched_sources():
    texts = {}
    for d, _, files in os.walk(os.path.join(ROOT, "sched")):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(d, f)
                if os.path.relpath(path, ROOT) != os.path.join("sched", "config.py"):
                    with open(path, encoding="utf-8") as fh:
                        texts[os.path.relpath(path, ROOT)] = fh.read()
    return texts


def _section(path, heading_start):
    text = read_text(path)
    m = re.search(r"^#+ %s.*?$(.*?)(?=^#+ |\Z)" % re.escape(heading_start), text, re.M | re.S)
    assert m, "%s: no section starting %r" % (path, heading_start)
    return m.group(1)


# Options read by name whose name the code builds: tag -> (file, what it contains).
BUILT_NAMES = {
    "log_HOST_dir": ("sched/config.py", '"%s_%s" % (kind, paths.short_hostname())'),
    "pid_HOST_dir": ("sched/config.py", '"%s_%s" % (kind, paths.short_hostname())'),
    "tmp_HOST_dir": ("sched/config.py", '"%s_%s" % (kind, paths.short_hostname())'),
    "shmem_max_platforms": ("sched/feeder.py", '"shmem_max_" + table'),
    "shmem_max_apps": ("sched/feeder.py", '"shmem_max_" + table'),
    "shmem_max_app_versions": ("sched/feeder.py", '"shmem_max_" + table'),
    "shmem_max_assignments": ("sched/feeder.py", '"shmem_max_" + table'),
}


def _uses_option(text, tag):
    """Does this source read config option ``tag`` (attribute or by name)?"""
    return re.search(r"\b(?:cfg|config|conf|c|sc)\.%s\b|getattr\([^)]*[\"']%s[\"']"
                     r"|[(, ][\"']%s[\"']\)" % (tag, tag, tag), text) is not None


def test_config_md_lists_what_we_read_with_the_defaults():
    from sched import config
    rows = _config_rows()
    problems = []
    for name, (kind, default) in config.OPTIONS.items():
        if name not in rows:
            problems.append("<%s> (sched/config.py) is not in docs/config.md" % name)
        elif rows[name] != _default_text(kind, default):
            problems.append("<%s>: docs/config.md says default %r, sched/config.py %r"
                            % (name, rows[name], _default_text(kind, default)))
    sources = _sched_sources()
    sources["sched/config.py"] = read_text("sched/config.py")
    # Rows for tags not in OPTIONS are options read by name: the code must name them.
    for tag in rows:
        if tag in config.OPTIONS:
            continue
        if tag in BUILT_NAMES:
            path, snippet = BUILT_NAMES[tag]
            ok = snippet in read_text(path)
        else:
            ok = any(re.search(r"[\"']%s[\"']" % re.escape(tag), t) for t in sources.values())
        if not ok:
            problems.append("docs/config.md lists <%s> as read, but no program names it" % tag)
    # The options said to be accepted but not acted on must be used nowhere.
    unused = re.findall(r"`<([\w-]+)>`", _section("docs/config.md", "Accepted, not acted on"))
    if not unused:
        problems.append("docs/config.md: the 'Accepted, not acted on' list is empty")
    del sources["sched/config.py"]
    for tag in unused:
        users = sorted(p for p, t in sources.items() if _uses_option(t, tag))
        if users:
            problems.append("docs/config.md says <%s> is not acted on, but %s read it"
                            % (tag, ", ".join(users)))
    assert not problems, "\n".join(problems)


def test_replica_readers_are_the_ones_documented():
    """docs/scaling.md and config.md name the programs that read the replica."""
    users = sorted(os.path.splitext(os.path.basename(p))[0]
                   for p, t in _sched_sources().items()
                   if re.search(r"replica=True|\.replica\b", t) and not p.endswith("db.py"))
    for doc in ("docs/scaling.md", "docs/config.md"):
        text = read_text(doc)
        for name in users:
            assert name in text, "%s doesn't say that %s reads the replica" % (doc, name)
    assert users == ["antique_file_deleter", "db_dump"], (
        "the programs reading the replica changed (%s): update docs/scaling.md and "
        "docs/config.md" % users)


# ------------------------------------------------------------------ (e) links

@pytest.mark.parametrize("path", [p for p in OWN_DOCS + ["README.md"]
                                  if os.path.exists(os.path.join(ROOT, p))])
def test_links_resolve(path):
    base = os.path.dirname(os.path.join(ROOT, path))
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", read_text(path)):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        file_part = target.split("#")[0]
        if not os.path.exists(os.path.normpath(os.path.join(base, file_part))):
            bad.append(target)
    assert not bad, "%s: links to missing files: %s" % (path, bad)


def test_docs_index_lists_every_doc():
    index = read_text("docs/README.md")
    missing = [f for f in sorted(os.listdir(DOCS))
               if f.endswith(".md") and f != "README.md" and "(%s)" % f not in index]
    assert not missing, "docs/README.md doesn't link %s" % missing


# ------------------------------------------------------------------ the checker itself

def test_marker_and_command_parsing():
    kind, opts = parse_marker('<!-- test expect="BOINC is ENABLED" expect="a b" status=1 -->')
    assert kind == "test" and opts == {"expect": ["BOINC is ENABLED", "a b"], "status": 1}
    assert parse_marker("<!-- covered: tests/a.py::t tests/b.py::u -->") == (
        "covered", ["tests/a.py::t", "tests/b.py::u"])
    assert parse_marker("<!-- something else -->") == (None, None)
    assert _options_after(" --app upper -d 3 --mod 2 0 ; bin/x --no") == ["--app", "-d", "--mod"]
    assert _options_after(" --config-file=/x.xml --show-config") == ["--config-file",
                                                                    "--show-config"]
    assert _command_words("cd /x && a2enmod cgid\nln -s a b # c\nX=1 bin/start\n") == [
        "cd", "a2enmod", "ln", "bin/start"]
    assert accepts("bin/feeder", "-one_pass") and accepts("bin/feeder", "--wmod")
    assert not accepts("bin/feeder", "--no_such_option")
    assert accepts("bin/start", "--cron") and not accepts("bin/start", "-cron")
