"""`python -m bench`: see bench/run.py."""

import sys

from .run import main

if __name__ == "__main__":  # the import floor's worker process imports this module
    sys.exit(main())
