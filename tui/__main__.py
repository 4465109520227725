"""`python -m tui [SCHEMA]`."""

from tui import main

raise SystemExit(main())
