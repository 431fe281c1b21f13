"""The desktop simulator: a box's gateway, its backend and its clients as real processes on a laptop."""
