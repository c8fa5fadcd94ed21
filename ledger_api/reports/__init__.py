"""Reports in the ledger: evidence files and manual activity data (:mod:`.store`), report
documents built from the measured figures and manual lines (:mod:`.create`), regulators'
statements, and their routes (:mod:`.routes`; docs/api.md "Manual activity data" and
"Reports"); report bundles exported from stored data (:mod:`.bundle_export`)."""
