"""Developer tools, left out of the wheel: the benchmark, the history seed, the demo café, browser helpers."""
