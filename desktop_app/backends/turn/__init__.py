"""End-of-turn models (hands-free: has the user finished?)."""
