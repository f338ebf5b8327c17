"""The on-device menu (`edge menu`): Textual screens over the supervisor's local API."""
