"""Moved to :mod:`xai_tutor.methods.deconvnet`; kept because notebook 03 imports it from here."""

from .methods.deconvnet import *  # noqa: F403
from .methods.deconvnet import __all__  # noqa: F401
