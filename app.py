"""Launcher: ``python app.py [options]`` is the same as the ``llamo-coach`` command."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
