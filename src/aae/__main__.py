import sys

from aae.cli import main

sys.exit(main())
