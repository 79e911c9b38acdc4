"""notify's own copy of who is who, kept from intake's and routing's events."""

from .projection import DIRECTORY_TYPES, apply_directory_event, load_directory

__all__ = ["DIRECTORY_TYPES", "apply_directory_event", "load_directory"]
