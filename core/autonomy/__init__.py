"""Autonomous resolution: which intents Deskloop may answer on its own (:mod:`.policy`), how a
person changes that (:mod:`.settings`), and what it would have done on the tenant's own history
(:mod:`.backtest`)."""
