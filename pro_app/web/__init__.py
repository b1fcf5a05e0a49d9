"""What every staff page shares: the guards, the lookups scoped to the user, the menu, small forms."""
