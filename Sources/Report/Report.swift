// Report module: see docs/DESIGN.md
