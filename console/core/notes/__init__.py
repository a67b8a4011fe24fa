"""Notes, scores, signing, courses across sessions and search."""
