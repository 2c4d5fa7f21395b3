"""One suggestion for a ticket (intent, why it abstains, tags, entities, evidence, draft), the
optional rewrite, and measuring suggestions: scoring a model on a labelled file and replaying a
history through the learning loop."""
