"""The relay as a sans-I/O core: events in, typed actions out (see ``core``)."""
