"""Exit statuses of every ``caprl-desktop`` command, in one place."""

EXIT_OK = 0
EXIT_SOME_FAILED = 1  # some images failed; the others were captioned
EXIT_USAGE = 2  # bad arguments, missing files or models: nothing was done
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away
