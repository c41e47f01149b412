// Detector module: see docs/DESIGN.md
