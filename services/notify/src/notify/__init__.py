"""notify service: Tells residents and staff what happened, exactly once per event and channel."""
