"""One suggestion for a ticket (intent, why it abstains, tags, entities, evidence, draft), the
optional rewrite, and scoring a model on a labelled file."""
