"""audit.http: the HTTP routes (the same name as the other three services)."""
