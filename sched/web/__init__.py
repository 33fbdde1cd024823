"""BOINC's web RPCs on the project URL, served by Python.

Clients, the BOINC Manager and account managers call these at the master
URL under BOINC's PHP names (``get_project_config.php`` ...).  Each name is
a thin program in the project's ``html/user/`` (installed by make_project
for a new project) that runs :mod:`sched.web.app` as CGI or FastCGI; Apache
runs those files as programs (see :func:`sched.apache.project_conf`).
"""

# URL name -> handler module (in this package) and function.
RPCS = {
    "get_project_config.php": ("project_config", "get_project_config"),
    "create_account.php": ("account", "create_account"),
    "lookup_account.php": ("account", "lookup_account"),
    "am_get_info.php": ("am", "am_get_info"),
    "am_set_info.php": ("am", "am_set_info"),
    "am_set_host_info.php": ("am", "am_set_host_info"),
    "show_user.php": ("public", "show_user"),
    "team_lookup.php": ("public", "team_lookup"),
}
