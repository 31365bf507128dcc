"""Training: the loop (accelerate) and the tasks; nothing outside train/ imports it."""
