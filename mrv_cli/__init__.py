"""mrv_cli: the ``mrv`` command, composition root of TrustMRV's parts."""
