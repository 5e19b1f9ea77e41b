"""Exit statuses of every ``caprl-desktop`` command, in one place."""

EXIT_OK = 0
EXIT_SOME_FAILED = 1  # some images failed; the others were captioned
EXIT_USAGE = 2  # bad arguments, missing files or models: nothing was done
EXIT_INTERNAL = 70  # an unexpected error (a bug): one line on screen, the details in the log (EX_SOFTWARE)
EXIT_TRY_AGAIN = 75  # a resource is busy (the job journal in another process's hands): try again (EX_TEMPFAIL)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away
