// NN module: see docs/DESIGN.md
