"""`python -m audit`: run the audit service."""

from eventkit.service import serve

from .bootstrap import build
from .settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve(build(settings), settings)
