// Module BAETrain: see Documentation/Architecture.md.
