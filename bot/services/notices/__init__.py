"""What reaches people about a ticket: the staff cards and the messages (notices, replies)."""
