"""`python -m argus_tui` runs the same entry point as the `argus` script."""

from argus_tui.cli import main

raise SystemExit(main())
