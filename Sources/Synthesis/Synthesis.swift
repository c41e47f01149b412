// Synthesis module: see docs/DESIGN.md
