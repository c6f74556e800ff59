// Module BAEIO: see Documentation/Architecture.md.
