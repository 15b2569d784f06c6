"""``python -m pcstream ...`` is the ``pcstream`` command."""
import sys

from .cli import main

sys.exit(main())
