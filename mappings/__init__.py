"""Bundled mappings, usable by name: `flatten load -m blueprint ...`."""
