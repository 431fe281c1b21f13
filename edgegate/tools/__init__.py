"""Host-side tools (run on a laptop, not on the box): certificates for development."""
