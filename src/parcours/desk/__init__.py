"""The service desk: cases and messages from every channel, routing, SLA clocks on business
calendars, e-mail in and out, and a FAQ bot that hands over to a human."""
