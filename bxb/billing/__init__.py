"""Pure billing core: money, periods, pricing. Imports no I/O library."""
