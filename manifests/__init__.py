"""The side-panel apps, one folder per helpdesk, read by ``deskloop manifests build`` and served by the web app."""
