"""``python -m neurospec`` runs the command line."""

import sys

from neurospec.cli import main

sys.exit(main())
