"""Command-line programs (absl flags): sr-train, sr-eval, sr-upscale, sr-export."""

from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Hide TF's C++ start-up chatter (oneDNN, CPU feature notes) unless the user asked for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_program(main) -> None:
    """`absl.app.run(main)`, but user errors (bad files, bad flags) end in one clear line.

    Errors raised on purpose by sr_keras (ValueError, FileNotFoundError, RuntimeError and their
    subclasses) name the file and the problem; they are printed as `PROGRAM: error: MESSAGE` with
    exit status 2 instead of a traceback.  Anything else is a bug and keeps its traceback.
    """
    from absl import app, flags

    quiet_tensorflow()
    program = os.path.basename(sys.argv[0])
    # `--help` lists the main module's key flags; a console script's main module is a wrapper, so
    # the program's own flags (defined in main's module) are declared key flags of it.
    for flag in flags.FLAGS.get_flags_for_module(main.__module__):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

    def guarded(argv):
        try:
            return main(argv)
        except (ValueError, FileNotFoundError, RuntimeError) as error:
            print(f"{program}: error: {error}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded)
