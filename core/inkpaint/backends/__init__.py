"""Roto backends, registered by name in :mod:`inkpaint.registry` and imported only when used."""
