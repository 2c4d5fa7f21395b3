"""The web app: a JSON API under ``/api/v1`` (documented by OpenAPI) and the playground page."""
