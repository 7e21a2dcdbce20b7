"""The demo clinic's schedule: places, providers, visit types, hours, six weeks of
visits with their histories, and a waitlist (provision_demo seeds it).

data.py holds the fixed facts, schedule.py seeds them through the services,
history.py decides what happened to each visit.
"""
