"""Exchange with the provincial monitoring platform: survey import and monitored-household export."""
