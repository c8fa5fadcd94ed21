"""Private helpers of mrv_core; not part of the public API."""
