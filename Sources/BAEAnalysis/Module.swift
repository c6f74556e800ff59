// Module BAEAnalysis: feature reports (ComSem samples) and entropy analyses; see Documentation/Analysis.md.
