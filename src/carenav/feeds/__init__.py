"""Durable store of inbound HL7 v2 messages and the queue of those no patient could be matched to."""
