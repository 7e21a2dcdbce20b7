"""Writes of texting: the outbox, reminders, replies, consent, offers, housekeeping.

Import the module you need (calls.services.outbox, ...): the schedule's
services call calls.hooks inside their transactions, and the modules here
that call the schedule's services in turn must not load with this package.
"""
