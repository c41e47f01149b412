// Tensor module: see docs/DESIGN.md
