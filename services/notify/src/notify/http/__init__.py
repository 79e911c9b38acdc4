"""notify's HTTP API (besides /healthz and /readyz): reading a case's deliveries."""
