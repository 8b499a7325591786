"""The ``neurospec`` command line.

``neurospec info PATH`` prints what a file holds. Further subcommands (``fit``, ``simulate``,
``demo``) plug in the same way: write ``add_<name>_parser(subparsers)`` that creates the
subparser and sets ``func=<handler>``, write the handler ``cmd_<name>(args) -> int``, and append
the adder to :data:`SUBCOMMANDS`. :func:`main` turns every :class:`~neurospec.errors.NeurospecError`
(and a missing or unreadable file) into exit code 2 with a one-line ``neurospec: error: ...``
message on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import NeurospecError

__all__ = ["main", "build_parser", "SUBCOMMANDS", "cmd_info"]

EXIT_OK = 0
EXIT_ERROR = 2  # bad input (the same code argparse uses for a bad option)


# ------------------------------------------------------------------ info
def cmd_info(args) -> int:
    """``neurospec info PATH``: print what a file holds."""
    from .io import describe, format_description

    desc = describe(args.path)
    if args.json:
        print(json.dumps(desc, indent=2, default=str))
    else:
        print(format_description(desc, max_units=args.max_units))
    return EXIT_OK


def add_info_parser(subparsers):
    p = subparsers.add_parser(
        "info",
        help="show what a data file holds (units, series, arrays)",
        description="Print what a file holds: for NWB the Units table (spike counts and time span "
                    "per unit) and every TimeSeries (path, shape, rate, duration, unit); for "
                    "array files their arrays/datasets/variables and shapes.",
    )
    p.add_argument("path", help="data file (.nwb, .npy, .npz, .csv, .h5, .hdf5, .mat)")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.add_argument("--max-units", type=int, default=50, metavar="N",
                   help="list at most N units (default 50)")
    p.set_defaults(func=cmd_info)
    return p


#: functions that each add one subcommand; add yours here
SUBCOMMANDS = [add_info_parser]


# ------------------------------------------------------------------ entry point
def build_parser():
    """The argparse parser with every registered subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="neurospec",
        description="Fit random-network theory to the covariance spectra of neural recordings.",
    )
    parser.add_argument("--version", action="version", version=f"neurospec {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def _error(message):
    text = " ".join(str(message).split())
    print(f"neurospec: error: {text}", file=sys.stderr)
    return EXIT_ERROR


def main(argv=None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (argparse printed why)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_ERROR
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(args.func(args) or EXIT_OK)
    except NeurospecError as exc:
        if args.debug:
            raise
        return _error(exc)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        if args.debug:
            raise
        return _error(f"{exc.filename or ''}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        print("neurospec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
