"""``python -m nnet.cli``: the same as the ``nnet`` command."""

import sys

from . import main

sys.exit(main())
