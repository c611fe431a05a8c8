"""`python -m nbmlops.cli`."""

import sys

from . import main

sys.exit(main())
