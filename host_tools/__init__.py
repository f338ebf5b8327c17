"""Tools an installer runs from a laptop or the Pi (flashing, bus scans, benchmarks)."""
