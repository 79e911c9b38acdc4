"""`python -m analytics` = the `bianmin` command."""

from .cli import main

main()
