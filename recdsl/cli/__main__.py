import sys

from recdsl.cli.main import main

sys.exit(main())
