// Faces module: see docs/DESIGN.md
