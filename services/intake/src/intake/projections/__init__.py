"""Read models of intake, written in the transaction of the events they reflect."""
