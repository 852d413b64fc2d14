"""The catalogue of public events, one module per producing service (DESIGN §2)."""
