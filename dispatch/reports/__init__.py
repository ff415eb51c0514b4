"""Commander reports: response-time intervals against the standards, the public page, citizens' feedback."""
