"""`python -m portal`: serve the portal (uvicorn; SIGTERM stops it gracefully)."""

from __future__ import annotations


def main() -> None:
    import uvicorn

    from eventkit import logging as jsonlog

    from .bootstrap import build
    from .settings import Settings

    settings = Settings()
    jsonlog.configure(settings.service_name, settings.log_level)
    app = build(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
