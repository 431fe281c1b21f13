"""The console transport: the line discipline (portable) and the serial console on real pseudo-terminals."""
