"""The ``tlcore`` entry point: parse, run the command, turn errors into exit statuses.

A :class:`~tlcore.errors.TLCoreError` is printed as one plain line (exit 2); anything
unexpected is summed up in one line with the file holding its traceback (exit 1), unless
``--debug`` asks for the traceback itself.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

from ..errors import EXIT_UNEXPECTED, EXIT_USER_ERROR, TLCoreError
from .parser import build_parser
from .quiet import import_tensorflow_quietly, quiet_tensorflow


def _unexpected(err: BaseException, args) -> int:
    run_dir = getattr(args, "_run_dir", None)
    if run_dir is not None:
        from ..runs import RunFolder

        log_path = RunFolder(run_dir).log_path  # the train command already wrote the traceback there
    else:
        fd, name = tempfile.mkstemp(prefix="tlcore-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            traceback.print_exception(type(err), err, err.__traceback__, file=fh)
        log_path = Path(name)
    first = (str(err).strip().splitlines() or [""])[0][:300]
    print(f"error: unexpected {type(err).__name__}: {first}", file=sys.stderr)
    print(f"The full details are in {log_path}. Please report them if this keeps happening.", file=sys.stderr)
    return EXIT_UNEXPECTED


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        (getattr(args, "_parser", None) or parser).print_help()
        return EXIT_USER_ERROR
    try:
        if getattr(args, "needs_tensorflow", False):
            import_tensorflow_quietly()
        return func(args)
    except TLCoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        return _unexpected(err, args)
