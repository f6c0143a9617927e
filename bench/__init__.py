"""The leadops benchmark: every contender on the same generated files, timed and checked equal (issue 6)."""
