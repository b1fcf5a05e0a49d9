"""The staff blueprint. Each feature module of this package adds its routes to it and its menu entry to
navigation.py; coordinator/__init__.py imports the modules so their routes exist."""

from flask import Blueprint

bp = Blueprint("coordinator", __name__, url_prefix="/staff")
