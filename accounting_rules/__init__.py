"""accounting_rules: methodologies as data and the fixed-point reference calculator.

Not built yet; see the project's issues. Nothing here pretends to work.
"""
