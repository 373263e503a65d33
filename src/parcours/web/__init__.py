"""Web surfaces: the app factory and its pages."""

from parcours.web.app import create_app

__all__ = ["create_app"]
