"""``cgi-bin/fcgi_file_upload_handler``: the upload handler served as FastCGI."""

from .upload import run_fcgi as run  # noqa: F401
