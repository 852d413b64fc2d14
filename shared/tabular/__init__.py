"""Reading uploaded spreadsheets (CSV or XLSX) for the imports of every service."""
