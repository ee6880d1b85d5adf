"""``python -m nv12kit.cli``: the same as the ``nv12kit`` command."""

import sys

from . import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
