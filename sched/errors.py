"""Errors an operator sees: one line, naming the file or setting at fault."""


class BoincError(Exception):
    """A failure the operator can fix; printed as one line, never a traceback.

    ``exit_code`` lets command-line tools keep BOINC's exit statuses.
    """

    exit_code = 1

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class ConfigError(BoincError):
    """config.xml (or another project file) is missing or malformed."""


class ProjectDirError(BoincError):
    """We are not inside a project directory."""
