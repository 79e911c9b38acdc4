"""The HTTP edge of intake (FastAPI): one module per route group."""
