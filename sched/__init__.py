"""A Python re-implementation of the BOINC server.

The package is called ``sched`` after the directory that holds BOINC's own
server code.  Python's standard library has a module of the same name, so
every entry point puts the directory *above* this package first on
``sys.path`` before importing it (see ``bin/`` scripts and README); ours then
shadows the standard module for that process.
"""

__version__ = "0.1.0"

# BOINC_MAJOR*100 + BOINC_MINOR of the server we mirror; sent to clients as
# <scheduler_version>.
SCHEDULER_VERSION = 803


def entry(module):
    """Start a ``bin/`` or ``cgi-bin/`` program: ``module.run()``.

    Run from a checkout under an interpreter that is not a virtualenv, the
    program re-executes itself under the checkout's ``.venv`` (made by
    scripts/setup), where its dependencies live.  Programs installed into a
    project by make_project name that interpreter in their first line.
    """
    import os
    import sys

    if sys.flags.no_site:
        _site_packages()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    venv_python = os.path.join(os.environ.get("PYBOINC_VENV") or os.path.join(root, ".venv"),
                               "bin", "python")
    if sys.prefix == sys.base_prefix and os.path.exists(venv_python):
        os.execv(venv_python, [venv_python] + sys.argv)
    __import__(module, fromlist=["run"]).run()


def _site_packages():
    """What ``site`` would do for us, for a program started with ``python -S``
    (the CGI programs: the site module and its .pth files cost a tenth of a
    CGI request): a virtualenv's site-packages on sys.path, nothing more."""
    import os
    import sys

    venv = os.path.dirname(os.path.dirname(sys.executable))
    try:
        with open(os.path.join(venv, "pyvenv.cfg")) as f:
            settings = f.read()
    except OSError:
        settings = None
    if settings is None or "include-system-site-packages = true" in settings:
        import site             # not a plain virtualenv: all of site's work
        site.main()
        return
    sys.path.append(os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2],
                                 "site-packages"))
    sys.prefix = sys.exec_prefix = venv
