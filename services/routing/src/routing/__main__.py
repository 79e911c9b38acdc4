"""`python -m routing`: run the routing service."""

from eventkit.service import serve

from .bootstrap import build
from .settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve(build(settings), settings)
