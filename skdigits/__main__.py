"""``python -m skdigits``: the same as the ``skdigits`` command."""

import sys

from skdigits._cli import main

sys.exit(main())
