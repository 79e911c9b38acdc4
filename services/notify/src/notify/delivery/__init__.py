"""Delivery: intents recorded in the inbox transaction, then sent by the dispatcher."""
