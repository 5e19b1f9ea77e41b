"""``python -m caprl_desktop``: the same as the ``caprl-desktop`` command (the file-manager entries use it)."""

import sys

from caprl_desktop.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
