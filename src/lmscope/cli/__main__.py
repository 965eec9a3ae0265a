"""``python -m lmscope.cli``: the ``lmscope`` command."""

import sys

from . import main

sys.exit(main())
