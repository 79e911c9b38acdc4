"""`python -m bianmin_tools` = the `bianmin` command."""

from .cli import main

main()
