"""`leadops preview`: a candidate scoring configuration rescored in memory, read-only."""
