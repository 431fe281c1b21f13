"""The serial console (portable, sans-I/O): ``shell.Shell`` turns typed lines into ``ops.BoxOps`` calls."""
