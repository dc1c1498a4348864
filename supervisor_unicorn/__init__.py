"""Hot restarts of unicorn and gunicorn masters, owned by supervisord itself."""

__version__ = '0.1.0'
