"""Billing staff pages: views parse input, call a selector or service, render."""
