"""The demo: a believable helpdesk history generated from the Banking77 queries (CC BY 4.0)."""
