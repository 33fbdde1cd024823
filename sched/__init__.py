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
    import importlib
    import os
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    venv_python = os.path.join(os.environ.get("PYBOINC_VENV") or os.path.join(root, ".venv"),
                               "bin", "python")
    if sys.prefix == sys.base_prefix and os.path.exists(venv_python):
        os.execv(venv_python, [venv_python] + sys.argv)
    importlib.import_module(module).run()
