"""Pairing: projects."""
