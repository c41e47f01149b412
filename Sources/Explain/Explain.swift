// Explain module: see docs/DESIGN.md
