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
