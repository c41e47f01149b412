// VideoIO module: see docs/DESIGN.md
