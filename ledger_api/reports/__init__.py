"""Reports in the ledger API: report bundles exported from stored data (:mod:`.bundle_export`)."""
