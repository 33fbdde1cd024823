"""BOINC's web RPCs on the project URL, served by Python.

Clients, the BOINC Manager and account managers call these at the master
URL under BOINC's PHP names (``get_project_config.php`` ...).  Each name is
a thin program in the project's ``html/user/`` (installed by make_project
for a new project) that runs :mod:`sched.web.app` as CGI or FastCGI; Apache
runs those files as programs (see :func:`sched.apache.project_conf`).

Where we differ from BOINC's PHP (HEAD), on purpose:

* Settings that live in BOINC's PHP project.inc are not read: invitation
  codes, banned e-mail domains, POSTAL_CODE, LDAP, SECURE_URL_BASE (the
  master URL is the RPC base).  No stopforumspam.com lookup is made.
* With ``stop_web`` every RPC answers BOINC's XML -183 (get_project_config
  its ``<web_stopped>1`` reply, without the DB); HEAD's PHP shows an HTML
  page for some of them before it gets that far.
* get_project_config also says ``<client_account_creation_disabled/>``
  (which clients read) when ``disable_account_creation_rpc`` is set, and
  reads the platforms from the DB on every call (no one-hour cache file).
* A missing or bad required argument is the XML error -1 "missing or bad
  parameter: NAME" (PHP redirects some to missing_arg_NAME.html); unknown
  extra arguments are ignored.  The HTML forms of show_user/team_lookup are
  not served (404).
* Values BOINC prints unescaped are XML-escaped, so replies stay well-formed.
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
