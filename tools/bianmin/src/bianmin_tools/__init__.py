"""The `bianmin` command: an application over the analytics library and the services."""
