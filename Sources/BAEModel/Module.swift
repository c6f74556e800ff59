// Module BAEModel: see Documentation/Architecture.md.
