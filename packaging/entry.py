"""The frozen app's entry point: both executables run the same ``caprl-desktop`` main (window or commands)."""

import sys

from caprl_desktop.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
