"""Events of the reporting service. Its issue adds them; the module exists so the catalogue is complete."""
