"""Code that web and worker both import; never imports Flask, the worker or torch."""

__version__ = "0.1.0"
