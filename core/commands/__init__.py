"""Subcommands of ``deskloop``, one module per area; each exposes ``register(group)``."""
