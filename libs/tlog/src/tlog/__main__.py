"""`python -m tlog`: the offline verifier CLI."""

from .verify_cli import main

if __name__ == "__main__":
    main()
