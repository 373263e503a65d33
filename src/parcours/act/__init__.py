"""Acting before the problem: managers' rules on events and elapsed time, their actions,
outreach under a contact-pressure budget, churn risk."""
