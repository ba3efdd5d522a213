"""`python -m costar.cli`."""

from costar.cli import main

main()
