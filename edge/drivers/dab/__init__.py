"""The DAB board: a second battery string behind a Dual Active Bridge, run by the C core."""
