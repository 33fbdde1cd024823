"""The demo project's web server: a private Apache (default) or the system's.

* :class:`PrivateWeb`: Debian's ``/usr/sbin/apache2`` with a configuration
  of our own (:mod:`sched.apache`) in ``PROJECT/apache/``, on
  127.0.0.1:PORT.  No system file is read or written.
* :class:`SystemWeb` (``--system_apache``, root only): the machine's Apache
  includes the project's ``NAME.httpd.conf`` through
  ``/etc/apache2/conf-enabled/pyboinc-NAME.conf`` and is reloaded
  (``apache2ctl -k graceful`` also starts it when it is down).  Stopping
  removes that file and reloads; the system's Apache itself keeps running.

Started by root, Apache's children run as www-data, which must enter the
project directory (see :func:`sched.demo.main.check_reachable`).
"""

import os
import shutil
import subprocess

from .. import apache
from ..errors import BoincError
from . import procs

APACHE2CTL = "/usr/sbin/apache2ctl"
SYSTEM_PID = "/run/apache2/apache2.pid"
SYSTEM_CONF_DIR = "/etc/apache2/conf-available"


class PrivateWeb:
    kind = "private"

    def __init__(self, project_dir, name, port):
        self.run_dir = os.path.join(project_dir, "apache")
        self.includes = [os.path.join(project_dir, "%s.httpd.conf" % name)]
        self.port = port
        self.conf_path = os.path.join(self.run_dir, "httpd.conf")

    def running(self):
        return procs.ours(procs.read_pid(os.path.join(self.run_dir, "httpd.pid")), "apache2")

    def start(self):
        if self.running():
            return
        procs.check_port(self.port, "private Apache", "--port")
        web = apache.PrivateApache(self.run_dir, self.port, self.includes)
        apache.check_conf(web.conf_path)
        web.start()

    def stop(self):
        if not os.path.exists(self.conf_path):
            return False
        was = self.running()
        apache.stop(self.conf_path, self.run_dir)
        return was


class SystemWeb:
    kind = "system"

    def __init__(self, project_dir, name, mode):
        self.include = os.path.join(project_dir, "%s.httpd.conf" % name)
        self.conf_name = "pyboinc-%s" % name
        self.conf_path = os.path.join(SYSTEM_CONF_DIR, self.conf_name + ".conf")
        self.mode = mode

    @staticmethod
    def _run(*argv):
        res = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, env=dict(os.environ, LANG="C"))
        if res.returncode != 0:
            lines = [x for x in res.stdout.splitlines() if x.strip()]
            raise BoincError("%s failed: %s" % (" ".join(argv), " | ".join(lines[-3:])))
        return res.stdout

    def running(self):
        return procs.alive(procs.read_pid(SYSTEM_PID))

    def start(self):
        if os.geteuid() != 0:
            raise BoincError("--system_apache needs root: it writes /etc/apache2 and "
                             "reloads Apache")
        if not (os.path.exists(APACHE2CTL) and shutil.which("a2enconf")):
            raise BoincError("no system Apache (apache2ctl, a2enconf): install Debian's "
                             "apache2 package (scripts/setup does)")
        modules = ["cgid", "alias", "mime", "dir", "auth_basic", "authn_file", "authz_user"]
        if self.mode == "fcgi":
            modules.append("fcgid")
        self._run("a2enmod", "-q", *modules)
        with open(self.conf_path, "w") as f:
            f.write("# The pyboinc demo project (scripts/demo --system_apache)\n"
                    'Include "%s"\n' % self.include)
        self._run("a2enconf", "-q", self.conf_name)
        try:
            self._run(APACHE2CTL, "configtest")
        except BoincError:
            self._run("a2disconf", "-q", self.conf_name)
            raise
        self._run(APACHE2CTL, "-k", "graceful")

    def stop(self):
        if not os.path.exists(self.conf_path):
            return False
        self._run("a2disconf", "-q", self.conf_name)
        os.unlink(self.conf_path)
        if self.running():
            self._run(APACHE2CTL, "-k", "graceful")
        return True
