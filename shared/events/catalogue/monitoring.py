"""Events of the monitoring service. Its issue adds them; the module exists so the catalogue is complete."""
