// Robustness module: see docs/DESIGN.md
