"""Command-line programs (absl flags): sr-demo, sr-train, sr-eval, sr-upscale, sr-export, ...

Every program ends in `run_program(main)`, which gives it the same behaviour:

- `--help` (also `-h`, `-?`, `--helpshort`) prints the program's help on stdout and exits 0:
  the program module's docstring (a one-line summary `sr-NAME: ...`, a paragraph of what it does
  and two or three example command lines), then every flag the program defines, with its value
  type (or its allowed values), its default and its help text; required flags are marked
  `(required)`.  `--helpfull` adds the flags of every other module (absl's logging flags, ...).
  The flags' own texts are written where the flags are defined: say what the value means, its
  allowed values and its unit there.
- A `--quiet` flag (no progress lines; `sr_keras.programs.progress`) unless the program has one.
- Errors raised on purpose by sr_keras end in one line, `PROGRAM: error: MESSAGE`, exit status 2;
  a program's `check_arguments` finds the flags' errors before TensorFlow is imported.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap

HELP_ARGUMENTS = ("-h", "-?", "-help", "--help", "-helpshort", "--helpshort")
HELPFULL_ARGUMENTS = ("-helpfull", "--helpfull")
REQUIRED_MARK = "(required)"
WIDTH = 100


# Lines TensorFlow's C++ side prints while it loads, whatever TF_CPP_MIN_LOG_LEVEL says: absl's
# note before its logging starts, oneDNN's "custom operations are on" (CPUs with AVX-512), CPU
# feature notes.
# Set when a program module is imported, before any of its code can import TensorFlow.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_STARTUP_CHATTER = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on", "cpu_feature_guard", "This TensorFlow binary is optimized")


def quiet_tensorflow() -> None:
    """Hide TF's C++ start-up chatter and C++ log lines below FATAL, unless the user asked for them.

    TF_CPP_MIN_LOG_LEVEL defaults to 3: TF's C++ INFO / WARNING / ERROR lines are notes, e.g. on
    AVX-512 CPUs "oneDNN supports DT_UINT8 only on platforms with AVX-512. Falling back to ... Eigen"
    for a uint8 op that then runs; a real failure still raises a Python exception with its message.
    TensorFlow is imported here with stderr (file descriptor 2) captured, and every captured line but
    the start-up chatter (`_STARTUP_CHATTER`) is printed again.  Set TF_CPP_MIN_LOG_LEVEL=0 to see all.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or os.environ["TF_CPP_MIN_LOG_LEVEL"] != "3":
        return
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not any(marker in line for marker in _STARTUP_CHATTER):
                    print(line, file=sys.stderr)


# --------------------------------------------------------------------------------------------
# --help
# --------------------------------------------------------------------------------------------


def is_required(flag) -> bool:
    """True if the flag was defined with `required=True` (or marked with `flags.mark_flag_as_required`).

    absl records a required flag only as a validator that rejects None, with this fixed message.
    """
    message = f"Flag --{flag.name} must have a value other than None."
    return any(getattr(validator, "message", None) == message for validator in getattr(flag, "validators", []))


def _value_syntax(flag) -> str:
    """`--name=VALUE` as the user types it: `--[no]name` for booleans, the choices for enums."""
    kind = flag.flag_type()
    if kind == "bool":
        return f"--[no]{flag.name}"
    enum_values = getattr(flag.parser, "enum_values", None)
    if enum_values:
        return f"--{flag.name}={'|'.join(enum_values)}"
    metavar = {
        "int": "INT",
        "float": "FLOAT",
        "string": "TEXT",
        "comma separated list of strings": "A,B,...",
        "multi string": "TEXT (repeatable)",
    }.get(kind, "VALUE")
    return f"--{flag.name}={metavar}"


def _default_text(flag) -> str:
    default = flag.default
    if default is None:
        return ""
    if flag.flag_type() == "bool":
        return "true" if default else "false"
    if isinstance(default, (list, tuple)):
        return ",".join(str(item) for item in default)
    if default == "":
        return "''"
    return str(default)


def flag_help(flag) -> str:
    """One flag's entry: `  --name=VALUE  (required | default: X)` and its wrapped help text."""
    head = "  " + _value_syntax(flag)
    if is_required(flag):
        head += f"  {REQUIRED_MARK}"
    elif _default_text(flag):
        head += f"  (default: {_default_text(flag)})"
    bounds = []
    lower, upper = getattr(flag.parser, "lower_bound", None), getattr(flag.parser, "upper_bound", None)
    if lower is not None:
        bounds.append(f">= {lower}")
    if upper is not None:
        bounds.append(f"<= {upper}")
    text = (flag.help or "").strip()
    enum_values = getattr(flag.parser, "enum_values", None)
    if enum_values and text.startswith(f"<{'|'.join(enum_values)}>: "):  # absl prefixes enum help with the values
        text = text[len(f"<{'|'.join(enum_values)}>: ") :]
    # absl appends this to a multi flag's help; the value syntax already says "(repeatable)".
    text = re.sub(r";\s*repeat this option to specify a list of values$", "", text)
    text += f" ({', '.join(bounds)})" if bounds else ""
    body = "\n".join(
        textwrap.fill(paragraph, WIDTH, initial_indent="      ", subsequent_indent="      ")
        for paragraph in text.split("\n")
        if paragraph.strip()
    )
    return head + ("\n" + body if body else "")


def program_help(doc: str, flag_list, full: bool = False) -> str:
    """The text `--help` prints: the docstring, then each flag of `flag_list` (required ones first,
    then in the order they were defined)."""
    from absl import flags

    text = textwrap.dedent(doc or "").strip("\n")
    if doc and doc[0] not in " \n":  # a docstring's first line has no indentation to remove
        first, _, rest = doc.partition("\n")
        text = (first + "\n" + textwrap.dedent(rest)).strip("\n")
    lines = [text.rstrip(), "", "Flags (required ones are marked " + REQUIRED_MARK + "):", ""]
    lines += [flag_help(flag) for flag in sorted(flag_list, key=lambda f: not is_required(f))]
    if full:
        lines += ["", "All other flags (absl logging and the libraries):", "", flags.FLAGS.get_help()]
    else:
        lines += ["", "Common absl flags: --verbosity=-1 (warnings only), --flagfile=FILE, --helpfull (all flags)."]
    return "\n".join(lines) + "\n"


def program_flags(module_name: str):
    """The flags a program defines: those of its main module, and --quiet."""
    from absl import flags

    found = {flag.name: flag for flag in flags.FLAGS.get_flags_for_module(module_name)}
    for flag in flags.FLAGS.get_flags_for_module(__name__):
        found.setdefault(flag.name, flag)
    return list(found.values())


def _help_requested(argv) -> str | None:
    """'short', 'full' or None, from the arguments before a `--` terminator."""
    for argument in argv[1:]:
        if argument == "--":
            return None
        name, _, value = argument.partition("=")
        if value.lower() not in ("", "true", "1"):
            continue
        if name in HELPFULL_ARGUMENTS:
            return "full"
        if name in HELP_ARGUMENTS:
            return "short"
    return None


def define_quiet_flag() -> None:
    """`--quiet`: no progress lines (sr_keras.programs.progress); defined once, unless a program has its own."""
    from absl import flags

    if "quiet" not in flags.FLAGS:
        flags.DEFINE_bool("quiet", False, "No progress lines on stderr (results and errors are still printed); so does --verbosity=-1.")


# --------------------------------------------------------------------------------------------
# Running a program
# --------------------------------------------------------------------------------------------


def run_program(main, doc: str | None = None, check_arguments=None, uses_tensorflow: bool = True) -> None:
    """`absl.app.run(main)` with the help and error behaviour of the module docstring above.

    main: the program's `main(argv)`; its module's flags are the program's flags, and its module's
    docstring is the help text unless `doc` is given (for a program whose main lives in a library
    module, e.g. sr-import-pytorch).
    check_arguments: optional, a function of no arguments run after the flags are parsed and before
    TensorFlow is imported (which takes 5-9 s on a 2-core machine): argument errors it raises end
    the program within a second, reported like main's.  What it returns (e.g. the checked input and
    output paths) is passed to `main(argv, checked)`, so that main does not check or list them again.
    uses_tensorflow: False for a program that does not need TensorFlow at all (sr-mos' study,
    serving and statistics commands): it is then not imported here, and the commands that do
    need it call `quiet_tensorflow()` themselves.

    Errors raised on purpose by sr_keras (ValueError, FileNotFoundError, RuntimeError and their
    subclasses) name the file and the problem; they are printed as `PROGRAM: error: MESSAGE` with
    exit status 2 instead of a traceback.  Anything else is a bug and keeps its traceback.
    """
    from absl import app, flags

    define_quiet_flag()
    program = os.path.basename(sys.argv[0])
    if doc is None:
        doc = sys.modules[main.__module__].__doc__
    requested = _help_requested(sys.argv)
    if requested:
        sys.stdout.write(program_help(doc, program_flags(main.__module__), full=requested == "full"))
        sys.stdout.flush()
        sys.exit(0)
    # absl's own usage messages (e.g. after a flag parsing error) list the main module's key flags;
    # a console script's main module is a wrapper, so the program's own flags are declared key flags of it.
    for flag in program_flags(main.__module__):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

    def guarded(argv):
        try:
            checked = check_arguments() if check_arguments is not None else None
            if uses_tensorflow:
                quiet_tensorflow()
            return main(argv) if check_arguments is None else main(argv, checked)
        except (ValueError, FileNotFoundError, RuntimeError) as error:
            print(f"{program}: error: {error}", file=sys.stderr)
            sys.exit(2)

    app.run(guarded)
