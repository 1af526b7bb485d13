"""One repository per domain; SQL lives here and nowhere else."""
