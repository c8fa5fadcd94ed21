"""Private helpers of the edge node."""
