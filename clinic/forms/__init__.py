"""The forms of the clinic's staff pages, one module per area.

clinic.forms.base holds the base form; patients, schedule and audit their own.
Set-up (clinic admin) forms live with their admin classes in clinic.admin.
"""
