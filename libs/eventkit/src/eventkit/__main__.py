"""`python -m eventkit`: see `eventkit.cli`."""

from .cli import main

main()
