import sys

from cvsp.cli import main

sys.exit(main())
