"""Import of an existing pairing ledger (千企帮千村台账) from CSV or XLSX."""
