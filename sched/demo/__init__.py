"""``scripts/demo``: a working BOINC project on this machine in one command.

The parts, each usable on its own:

* :mod:`.main`: the command (options, create or reuse, run, ``--stop``);
* :mod:`.mariadb`: a private MariaDB server in ``PROJECT/mysql/``;
* :mod:`.web`: the private Apache in ``PROJECT/apache/`` (or the system's);
* :mod:`.app`: the sample app (``samples/wrapper``) added to a project, and
  batches of its jobs;
* :mod:`.client`: the real BOINC client in ``PROJECT/client/``;
* :mod:`.procs`: pid files, ports, "can www-data get there".
"""
