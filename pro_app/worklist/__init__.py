"""Today's work: what is due, overdue, open, in progress and missed, per study; compliance; downloads."""
