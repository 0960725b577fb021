"""What the bench scripts (fidelity.py, gil_fidelity.py) share: a report written whole or not
at all, and a main that turns Ctrl-C and a failed tool into exit codes."""
import json
import os
import subprocess
import sys


def write_json(path, obj):
    """Under a temporary name in the same directory, then renamed: never half a file."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def run_main(main, name, errors=()):
    """sys.exit(main()): 130 on Ctrl-C, 1 after one line naming what failed."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except (RuntimeError, subprocess.TimeoutExpired) + tuple(errors) as e:
        print("%s: %s" % (name, e), file=sys.stderr)
        sys.exit(1)
