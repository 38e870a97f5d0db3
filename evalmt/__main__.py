"""``python -m evalmt`` runs the CLI."""

import sys

from evalmt.cli import main

sys.exit(main())
