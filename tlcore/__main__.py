"""``python -m tlcore``: the same command line as ``tlcore``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
