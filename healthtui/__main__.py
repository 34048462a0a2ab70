import sys

from healthtui.cli import main

sys.exit(main())
