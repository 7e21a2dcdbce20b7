"""Voice calls: the TwiML the portal speaks, the flow that answers the caller, live events."""
