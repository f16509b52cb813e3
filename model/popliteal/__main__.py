"""``python -m popliteal`` runs the command-line interface."""

import sys

try:
    from .cli.main import main
except KeyboardInterrupt:  # Ctrl-C while starting up
    sys.stderr.write("popliteal: interrupted\n")
    raise SystemExit(130) from None

raise SystemExit(main())
