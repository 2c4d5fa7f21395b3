"""Churn risk per account: what an account's tickets show over time, as a score with its reasons.

An account is the ticket's organization, or its requester where there is none
(:func:`~core.insights.churn.facts.account_of`). :mod:`.facts` reads what each ticket says,
:mod:`.features` turns an account's tickets into risk features with the ticket ids behind each,
:mod:`.rules` scores them with a documented monotone rule set, :mod:`.learned` learns the score from
a tenant's outcomes (:mod:`.outcomes`) when there are enough, and :mod:`.ranking` is what the CLI
and the API call.
"""
