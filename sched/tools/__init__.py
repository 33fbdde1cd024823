"""Command-line tools (``bin/``): each module has a ``main(argv)``."""
