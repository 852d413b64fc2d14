"""Pairing: cooperatives."""
