"""Pairing: directory."""
