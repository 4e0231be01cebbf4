"""`python -m recdsl.cli` is the `recdsl` command."""
import sys

from recdsl.cli.main import main

sys.exit(main())
